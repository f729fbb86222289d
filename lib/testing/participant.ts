/**
 * A participant service running in the test process against real Kafka and a fresh database:
 * commands go to its real command topic, replies are read back from its real reply topic.
 * The consumer group is new and starts at the topic's end, so nothing older is replayed; a
 * command is sent only once the group has joined and fetched.
 */
import type { EventType, Topic } from "../messages/mod.ts";
import { encodeMessage, type OutgoingMessage } from "../messages/mod.ts";
import { publish } from "../kafka/producer.ts";
import type { ConsumedRecord } from "../kafka/records.ts";
import { type CommandConsumerOptions, startParticipant } from "../participant/mod.ts";
import { openServiceRuntime, type ServiceRuntime } from "../service/mod.ts";
import { DEFAULT_TOPIC_PARTITIONS } from "../config/defaults.ts";
import { createTestDatabase } from "./db.ts";
import { testInfra } from "./infra.ts";
import { readRecords, topicEnd, type TopicPosition } from "./kafka.ts";

/** What a participant test works with. */
export interface ParticipantHarness {
  runtime: ServiceRuntime;
  /** Produces a command (fresh eventId unless given) and returns the record's eventId. */
  send(message: OutgoingMessage): Promise<string>;
  /** Waits for `count` replies about `orderId` produced since the harness started. */
  replies(orderId: string, count: number): Promise<ConsumedRecord[]>;
}

/** Options of `withParticipant`. */
export interface HarnessOptions {
  name: string;
  schema: string;
  commandTopic: Topic;
  replyTopic: Topic;
  commands: CommandConsumerOptions["commands"];
}

/** Runs `fn` with the participant started; everything is closed and dropped afterwards. */
export async function withParticipant(
  options: HarnessOptions,
  fn: (harness: ParticipantHarness) => Promise<void>,
): Promise<void> {
  const { kafkaBrokers } = await testInfra(["kafka", "postgres"]);
  const db = await createTestDatabase();
  let runtime: ServiceRuntime | undefined;
  try {
    runtime = await openServiceRuntime({
      name: options.name,
      schema: options.schema,
      opsPort: 0,
      config: {
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_TOPIC_PARTITIONS: DEFAULT_TOPIC_PARTITIONS,
        DATABASE_URL: db.url,
        LOG_LEVEL: "error",
      },
    });
    const kafka = runtime.kafka;
    const repliesFrom: TopicPosition = await topicEnd(kafka, options.replyTopic);
    const consumer = await startParticipant(runtime, {
      groupId: `test-${options.name}-${crypto.randomUUID()}`,
      topic: options.commandTopic,
      commands: options.commands,
      fromBeginning: false,
    });
    await consumer.ready;
    const started = runtime;
    await fn({
      runtime: started,
      async send(message) {
        const record = encodeMessage({ sagaId: crypto.randomUUID(), ...message });
        await publish(started.producer, [record]);
        return JSON.parse(record.headers.metadata!).eventId;
      },
      replies: (orderId, count) =>
        readRecords(kafka, options.replyTopic, {
          count,
          from: repliesFrom,
          select: (record) => record.key === orderId,
        }),
    });
  } finally {
    await runtime?.close();
    await db.drop();
  }
}

/** The event types of replies, in the order they arrived. */
export function replyTypes(records: readonly ConsumedRecord[]): EventType[] {
  return records.map((record) => JSON.parse(record.headers.metadata!).eventType);
}
