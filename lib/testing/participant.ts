/**
 * A participant service running in the test process against real Kafka and a fresh database,
 * in a Kafka namespace of its own: commands go to its command topic, replies are read back from
 * its reply topic, and no other test or stack sees either.
 */
import type { EventType, Topic } from "../messages/mod.ts";
import { encodeMessage, type OutgoingMessage } from "../messages/mod.ts";
import { createKafka } from "../kafka/client.ts";
import { publish } from "../kafka/producer.ts";
import type { ConsumedRecord } from "../kafka/records.ts";
import { type CommandConsumerOptions, startParticipant } from "../participant/mod.ts";
import { openServiceRuntime, type ServiceRuntime } from "../service/mod.ts";
import { createTestDatabase } from "./db.ts";
import { testInfra } from "./infra.ts";
import { deleteNamespaceTopics, readRecords, testNamespace } from "./kafka.ts";

/** What a participant test works with. */
export interface ParticipantHarness {
  runtime: ServiceRuntime;
  /**
   * Produces a command (fresh eventId unless given; the order's saga id, one per order as the
   * orchestrator has it, unless given) and returns the record's eventId.
   */
  send(message: OutgoingMessage): Promise<string>;
  /** Waits for `count` replies about `orderId`. */
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
  const namespace = testNamespace(options.name);
  const db = await createTestDatabase();
  let runtime: ServiceRuntime | undefined;
  try {
    runtime = await openServiceRuntime({
      name: options.name,
      schema: options.schema,
      opsPort: 0,
      config: {
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_NAMESPACE: namespace,
        KAFKA_TOPIC_PARTITIONS: 2,
        DATABASE_URL: db.url,
        LOG_LEVEL: "error",
      },
    });
    await startParticipant(runtime, {
      groupId: `${options.name}-service`,
      topic: options.commandTopic,
      commands: options.commands,
    });
    const started = runtime;
    const sagas = new Map<string, string>();
    const sagaOf = (orderId: string, given?: string) => {
      if (!sagas.has(orderId)) sagas.set(orderId, given ?? crypto.randomUUID());
      return given ?? sagas.get(orderId)!;
    };
    await fn({
      runtime: started,
      async send(message) {
        const { orderId } = message.body as { orderId: string };
        const record = encodeMessage({ ...message, sagaId: sagaOf(orderId, message.sagaId) });
        await publish(started.producer, [record]);
        return JSON.parse(record.headers.metadata!).eventId;
      },
      replies: (orderId, count) =>
        readRecords(started.kafka, options.replyTopic, {
          count,
          select: (record) => record.key === orderId,
        }),
    });
  } finally {
    await runtime?.close();
    await db.drop();
    await deleteNamespaceTopics(
      createKafka({ brokers: kafkaBrokers, clientId: "cleanup", namespace }),
    );
  }
}

/** The event types of replies, in the order they arrived. */
export function replyTypes(records: readonly ConsumedRecord[]): EventType[] {
  return records.map((record) => JSON.parse(record.headers.metadata!).eventType);
}
