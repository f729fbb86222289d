/** Kafka helpers for integration tests: throwaway topics and reading what landed on a topic. */
import { Buffer } from "node:buffer";
import type { Consumer, Kafka } from "kafkajs";
import type { WireRecord } from "../lib/messages/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace, outOfNamespace } from "../lib/kafka/namespace.ts";
import { type ConsumedRecord, fromKafkaMessage } from "../lib/kafka/records.ts";
import { ensureTopics } from "../lib/kafka/topics.ts";
import { waitFor } from "../lib/async/mod.ts";
import { testInfra } from "./infra.ts";

/** A kafkajs client on the test broker. */
export async function testKafka(clientId = "test"): Promise<Kafka> {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  return createKafka({ brokers: kafkaBrokers, clientId });
}

/**
 * Creates topics with unique names (prefix + random suffix) and returns their names, through
 * `ensureTopics`, which asks again while a loaded broker says a new topic is not ready yet.
 */
export async function createTestTopics(
  kafka: Kafka,
  prefixes: readonly string[],
  options: { partitions?: number } = {},
): Promise<string[]> {
  const suffix = crypto.randomUUID().slice(0, 8);
  const names = prefixes.map((prefix) => `test.${prefix}.${suffix}`);
  await ensureTopics(kafka, { topics: names, partitions: options.partitions ?? 1 });
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

/** The current end offset of each partition of `topic`. */
export type TopicPosition = Array<{ partition: number; offset: string }>;

/** Where `topic` ends now: read from here to see only what is produced later. */
export async function topicEnd(kafka: Kafka, topic: string): Promise<TopicPosition> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(inNamespace(kafka, topic));
    return offsets.map(({ partition, offset }) => ({ partition, offset }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads `topic` in a fresh consumer group, from `from` (default: the start), until `count`
 * records match `select` (or the deadline passes) and returns those records.
 */
export async function readRecords(
  kafka: Kafka,
  topic: string,
  options: {
    count: number;
    select?: (record: ConsumedRecord) => boolean;
    timeoutMs?: number;
    from?: TopicPosition;
  },
): Promise<ConsumedRecord[]> {
  const found: ConsumedRecord[] = [];
  const consumer = await startTopicReader(kafka, topic, (record) => {
    if (options.select?.(record) ?? true) found.push(record);
  });
  try {
    // Seeks queued after run() apply before the first fetch of each partition.
    for (const { partition, offset } of options.from ?? []) {
      consumer.seek({ topic: inNamespace(kafka, topic), partition, offset });
    }
    await waitFor(() => found.length >= options.count, {
      timeoutMs: options.timeoutMs ?? 20_000,
      description: `${options.count} record(s) on ${topic} (saw ${found.length})`,
    });
    return found;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Reads every record of `topic` produced before the call, in a fresh consumer group: each
 * partition from its start to the end offset it had when the call began.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  options: { timeoutMs?: number } = {},
): Promise<ConsumedRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(inNamespace(kafka, topic));
    ends = new Map(
      offsets.filter(({ offset, low }) => BigInt(offset) > BigInt(low))
        .map(({ partition, offset }) => [partition, BigInt(offset)]),
    );
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return [];
  const found: ConsumedRecord[] = [];
  const next = new Map<number, bigint>();
  const consumer = await startTopicReader(kafka, topic, (record) => {
    const offset = BigInt(record.offset);
    const end = ends.get(record.partition);
    if (end !== undefined && offset < end) found.push(record);
    next.set(record.partition, offset + 1n);
  });
  try {
    await waitFor(() => [...ends].every(([partition, end]) => (next.get(partition) ?? 0n) >= end), {
      timeoutMs: options.timeoutMs ?? 30_000,
      description: `the end of ${topic} (read ${found.length} record(s))`,
    });
    return found;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * A consumer in a fresh group reading `topic` from its start, handing each record over; the
 * caller seeks, waits and disconnects it.
 */
async function startTopicReader(
  kafka: Kafka,
  topic: string,
  onRecord: (record: ConsumedRecord) => void,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: `test-reader-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 250,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: inNamespace(kafka, topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ topic, partition, message }) => {
        onRecord(fromKafkaMessage(outOfNamespace(kafka, topic), partition, message));
        return Promise.resolve();
      },
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return consumer;
}

/** A `WireRecord` as the consumer runner would hand it over, for calling handlers directly. */
export function asConsumed(record: WireRecord, offset = 0): ConsumedRecord {
  return {
    ...record,
    partition: 0,
    offset: String(offset),
    raw: {
      key: record.key === null ? null : Buffer.from(record.key),
      value: record.value === null ? null : Buffer.from(record.value),
      headers: record.headers,
      offset: String(offset),
      timestamp: String(Date.now()),
      attributes: 0,
    },
  };
}

/** A fresh namespace for one test run: its topics and groups are its own. */
export function testNamespace(label: string): string {
  return `test-${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Deletes every topic of the namespace bound to `kafka`. */
export async function deleteNamespaceTopics(kafka: Kafka): Promise<void> {
  const prefix = inNamespace(kafka, "");
  if (prefix === "") throw new RangeError("Refusing to delete topics: the client has no namespace");
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
