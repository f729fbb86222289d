/** Kafka helpers for integration tests: throwaway topics and reading what landed on a topic. */
import type { Kafka } from "kafkajs";
import { createKafka } from "../kafka/client.ts";
import { type ConsumedRecord, fromKafkaMessage } from "../kafka/records.ts";
import { waitFor } from "../async/mod.ts";
import { testInfra } from "./infra.ts";

/** A kafkajs client on the test broker. */
export async function testKafka(clientId = "test"): Promise<Kafka> {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  return createKafka({ brokers: kafkaBrokers, clientId });
}

/** Creates topics with unique names (prefix + random suffix) and returns their names. */
export async function createTestTopics(
  kafka: Kafka,
  prefixes: readonly string[],
  options: { partitions?: number } = {},
): Promise<string[]> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const names = prefixes.map((prefix) => `test.${prefix}.${suffix}`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: names.map((topic) => ({ topic, numPartitions: options.partitions ?? 1 })),
    });
  } finally {
    await admin.disconnect();
  }
  return names;
}

/** Deletes topics made by `createTestTopics`. */
export async function deleteTestTopics(kafka: Kafka, topics: readonly string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics] });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads `topic` from the start in a fresh consumer group until `count` records match `select`
 * (or the deadline passes) and returns those records.
 */
export async function readRecords(
  kafka: Kafka,
  topic: string,
  options: { count: number; select?: (record: ConsumedRecord) => boolean; timeoutMs?: number },
): Promise<ConsumedRecord[]> {
  const found: ConsumedRecord[] = [];
  const consumer = kafka.consumer({ groupId: `test-reader-${crypto.randomUUID()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        const record = fromKafkaMessage(topic, partition, message);
        if (options.select?.(record) ?? true) found.push(record);
        return Promise.resolve();
      },
    });
    await waitFor(() => found.length >= options.count, {
      timeoutMs: options.timeoutMs ?? 20_000,
      description: `${options.count} record(s) on ${topic} (saw ${found.length})`,
    });
    return found;
  } finally {
    await consumer.disconnect();
  }
}
