/**
 * Reading chosen offset ranges of a topic, for `sagactl dlq`: a throwaway consumer group (no
 * offsets committed) seeks each partition to the start of its range and reads to its end.
 */
import type { Admin, Kafka, KafkaMessage } from "kafkajs";
import { kafkaErrorType } from "./errors.ts";

/** The offsets a partition holds: from `low` (inclusive) to `high` (exclusive). */
export interface PartitionMarks {
  partition: number;
  low: number;
  high: number;
}

/** Offsets `[from, to)` of one partition. */
export interface OffsetRange {
  partition: number;
  from: number;
  to: number;
}

/** A record as read, bytes untouched. */
export interface TopicRecord {
  partition: number;
  offset: number;
  /** Kafka's record timestamp, in ms. */
  timestamp: number;
  message: KafkaMessage;
}

/** The offsets each partition of `topic` holds now, by partition number. */
export async function readMarks(admin: Admin, topic: string): Promise<PartitionMarks[]> {
  let offsets: Awaited<ReturnType<Admin["fetchTopicOffsets"]>>;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (error) {
    if (kafkaErrorType(error) !== "UNKNOWN_TOPIC_OR_PARTITION") throw error;
    throw new Error(
      `Cannot read topic ${topic}: it does not exist (the services create their topics when they start)`,
      { cause: error },
    );
  }
  return offsets
    .map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }))
    .sort((a, b) => a.partition - b.partition);
}

/** Reads every record in `ranges` (at most one range per partition), oldest first per partition. */
export async function readRanges(
  kafka: Kafka,
  topic: string,
  options: { marks: readonly PartitionMarks[]; ranges: readonly OffsetRange[]; timeoutMs: number },
): Promise<TopicRecord[]> {
  const wanted = new Map(
    options.ranges.filter((r) => r.to > r.from).map((r) => [r.partition, r] as const),
  );
  if (wanted.size === 0) return [];
  const records: TopicRecord[] = [];
  const remaining = new Set(wanted.keys());
  const consumer = kafka.consumer({
    groupId: `sagactl-reader-${crypto.randomUUID()}`,
    maxWaitTimeInMs: 100,
    retry: { retries: 2 },
  });
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: ({ partition, message }) => {
        const range = wanted.get(partition);
        const offset = Number(message.offset);
        if (range === undefined || offset < range.from || offset >= range.to) {
          return Promise.resolve();
        }
        records.push({ partition, offset, timestamp: Number(message.timestamp), message });
        if (offset >= range.to - 1 && remaining.delete(partition)) {
          consumer.pause([{ topic, partitions: [partition] }]);
          if (remaining.size === 0) finish();
        }
        return Promise.resolve();
      },
    });
    // Seeks queued after run() apply before each partition's first fetch; partitions with
    // nothing to read start at their end.
    for (const marks of options.marks) {
      const range = wanted.get(marks.partition);
      consumer.seek({
        topic,
        partition: marks.partition,
        offset: String(range === undefined ? marks.high : range.from),
      });
    }
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `Cannot read ${topic}: partitions ${
                  [...remaining].join(", ")
                } did not deliver their records within ${options.timeoutMs} ms`,
              ),
            ),
          options.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/**
 * The newest `limit` records of the topic that `select` accepts, newest first (by record
 * timestamp across partitions). Reads backwards from each partition's end in growing windows
 * until no older record could still belong to the newest `limit`.
 */
export async function readNewest(
  kafka: Kafka,
  topic: string,
  options: {
    marks: readonly PartitionMarks[];
    limit: number;
    select?: (record: TopicRecord) => boolean;
    timeoutMs: number;
  },
): Promise<TopicRecord[]> {
  const ends = new Map(options.marks.map((m) => [m.partition, m.high]));
  const oldestRead = new Map<number, number>();
  const matched: TopicRecord[] = [];
  let window = options.select === undefined ? options.limit : Math.max(options.limit, 200);
  while (true) {
    const ranges = options.marks
      .map((m) => ({ partition: m.partition, to: ends.get(m.partition)!, low: m.low }))
      .filter((r) => r.to > r.low)
      .map((r) => ({ partition: r.partition, from: Math.max(r.low, r.to - window), to: r.to }));
    if (ranges.length === 0) break;
    const records = await readRanges(kafka, topic, {
      marks: options.marks,
      ranges,
      timeoutMs: options.timeoutMs,
    });
    for (const range of ranges) ends.set(range.partition, range.from);
    for (const record of records) {
      const oldest = oldestRead.get(record.partition);
      if (oldest === undefined || record.timestamp < oldest) {
        oldestRead.set(record.partition, record.timestamp);
      }
      if (options.select?.(record) ?? true) matched.push(record);
    }
    matched.sort(newestFirst);
    if (matched.length >= options.limit) {
      const cutoff = matched[options.limit - 1]!.timestamp;
      const unread = options.marks.filter((m) => ends.get(m.partition)! > m.low);
      if (unread.every((m) => (oldestRead.get(m.partition) ?? -Infinity) <= cutoff)) break;
    }
    window *= 4;
  }
  return matched.slice(0, options.limit);
}

/** Orders records newest first: by timestamp, then partition and offset, descending. */
export function newestFirst(a: TopicRecord, b: TopicRecord): number {
  return b.timestamp - a.timestamp || b.partition - a.partition || b.offset - a.offset;
}
