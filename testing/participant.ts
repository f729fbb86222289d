/**
 * A participant service running in the test process against real Kafka and a fresh database,
 * in a Kafka namespace of its own: commands go to its command topic, replies are read back from
 * its reply topic, and no other test or stack sees either.
 */
import type { EventType, Topic } from "../lib/messages/mod.ts";
import { encodeMessage, type OutgoingMessage } from "../lib/messages/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { publish } from "../lib/kafka/producer.ts";
import { type ConsumedRecord, toKafkaMessage } from "../lib/kafka/records.ts";
import type { Logger } from "../lib/log/mod.ts";
import {
  type CommandConsumerOptions,
  type ParticipantServiceOptions,
  startParticipant,
} from "../lib/participant/mod.ts";
import { openServiceRuntime, type ServiceRuntime } from "../lib/service/mod.ts";
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
  /**
   * Produces the commands in one request to one partition of the command topic (so the consumer
   * fetches them together, as one chunk), as `send` would; returns their eventIds in order.
   */
  sendAll(messages: readonly OutgoingMessage[], options: { partition: number }): Promise<string[]>;
  /** How many times the participant has logged `message` so far, e.g. "Consumer joined its group". */
  logged(message: string): number;
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
  /** Started beside the participant, as `runParticipantService` does (e.g. payment's follower). */
  alongside?: ParticipantServiceOptions["alongside"];
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
    const messages: string[] = [];
    const participant = await startParticipant(
      { ...runtime, log: recording(runtime.log, messages) },
      {
        groupId: `${options.name}-service`,
        topic: options.commandTopic,
        commands: options.commands,
      },
    );
    await options.alongside?.(runtime, participant);
    const started = runtime;
    const sagas = new Map<string, string>();
    const sagaOf = (orderId: string, given?: string) => {
      if (!sagas.has(orderId)) sagas.set(orderId, given ?? crypto.randomUUID());
      return given ?? sagas.get(orderId)!;
    };
    const encode = (message: OutgoingMessage) => {
      const { orderId } = message.body as { orderId: string };
      return encodeMessage({ ...message, sagaId: sagaOf(orderId, message.sagaId) });
    };
    const eventIdOf = (record: { headers: Record<string, string> }): string =>
      JSON.parse(record.headers.metadata!).eventId;
    await fn({
      runtime: started,
      async send(message) {
        const record = encode(message);
        await publish(started.producer, [record]);
        return eventIdOf(record);
      },
      async sendAll(list, { partition }) {
        const records = list.map(encode);
        await started.producer.send({
          topic: inNamespace(started.producer, options.commandTopic),
          acks: -1,
          messages: records.map((record) => ({ ...toKafkaMessage(record), partition })),
        });
        return records.map(eventIdOf);
      },
      logged: (message) => messages.filter((m) => m === message).length,
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

/** `log`, also noting every message it is given, whatever its level. */
function recording(log: Logger, messages: string[]): Logger {
  const noting = (level: "debug" | "info" | "warn" | "error") =>
    function note(message: string, fields?: Record<string, unknown>) {
      messages.push(message);
      log[level](message, fields);
    };
  return {
    debug: noting("debug"),
    info: noting("info"),
    warn: noting("warn"),
    error: noting("error"),
    child: (fields) => recording(log.child(fields), messages),
  };
}

/** The event types of replies, in the order they arrived. */
export function replyTypes(records: readonly ConsumedRecord[]): EventType[] {
  return records.map((record) => JSON.parse(record.headers.metadata!).eventType);
}
