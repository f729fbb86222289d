/**
 * The consumer runner: hands each record to a handler, retries failures by one policy
 * (`onHandlerFailure`), dead-letters what can never succeed, and lets an offset be committed
 * only once its record was handled or dead-lettered.
 */
import kafkajs from "kafkajs";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { Logger } from "../log/mod.ts";
import { sleep } from "../async/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import { deadLetterMessage, DLQ_TOPIC, withoutValue } from "./dlq.ts";
import { isTooLarge } from "./errors.ts";
import { inNamespace, outOfNamespace } from "./namespace.ts";
import { type ConsumedRecord, fromKafkaMessage } from "./records.ts";
import { DEFAULT_RETRY_POLICY, onHandlerFailure, type RetryPolicy } from "./retry_policy.ts";

/** Handles one record; throws to have it retried or dead-lettered. */
export type RecordHandler = (
  record: ConsumedRecord,
  context: { signal: AbortSignal },
) => Promise<void>;

/**
 * Handles a chunk of records of one partition, in order, as one unit (e.g. one transaction):
 * all of them or none. When it throws, the consumer hands the chunk's records to the
 * `RecordHandler` one at a time, so a poison record is retried or dead-lettered on its own.
 */
export type BatchHandler = (
  records: readonly ConsumedRecord[],
  context: { signal: AbortSignal },
) => Promise<void>;

/** The `RecordHandler` that runs a `BatchHandler` on a batch of one record. */
export function oneAtATime(handler: BatchHandler): RecordHandler {
  return (record, context) => handler([record], context);
}

/** How a record ended, for metrics. */
export type RecordOutcome = "handled" | "retried" | "dlq";

/** Options of `startConsumer`. */
export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  handler: RecordHandler;
  /** Producer used for dead letters. */
  producer: Producer;
  log: Logger;
  retry?: RetryPolicy;
  /** Read a new group's topics from the start (default true: nothing produced before is missed). */
  fromBeginning?: boolean;
  /** Called for every attempt's outcome (metrics). */
  onOutcome?: (topic: string, outcome: RecordOutcome) => void;
  /**
   * Handle fetched records in chunks of up to `maxRecords` (one partition's records in order);
   * `handler` still handles a failed chunk's records one by one. Without it, one record at a time.
   */
  batch?: { handler: BatchHandler; maxRecords: number };
  /** Partitions handled at the same time (default 1); records of one partition stay in order. */
  partitionsConcurrently?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Resolves once the group is joined and the first fetch is done: positions are set. */
  ready: Promise<void>;
  /** Stops fetching, lets the record in hand finish (or abandons its retries), commits, leaves. */
  stop(): Promise<void>;
  /** Stops fetching `topic` (records fetched already are still handled) until `resume`. */
  pause(topic: string): void;
  /** Fetches `topic` again after `pause`. */
  resume(topic: string): void;
  /** True when a fetch (empty or not) completed in the last `ms`: the consumer is reading. */
  fetchedWithin(ms: number): boolean;
  /**
   * What this member reads: the partitions of its last group join by topic (none while it
   * rebalances or after it stopped or crashed), and when a fetch since that join last completed
   * (wall clock; null before the first).
   */
  reads(): { assigned: ReadonlyMap<string, readonly number[]>; fetchedAt: Date | null };
}

const HEARTBEAT_INTERVAL_MS = 1_000;

/** Connects a consumer in `groupId`, subscribes to `topics` and starts handling records. */
export async function startConsumer(
  kafka: Kafka,
  options: ConsumerOptions,
): Promise<RunningConsumer> {
  const consumer: Consumer = kafka.consumer({
    groupId: inNamespace(kafka, options.groupId),
    // A short fetch wait keeps shutdown quick: disconnect waits for the fetch in flight.
    maxWaitTimeInMs: 250,
    // A member that crashed holds its partitions until its session expires: keep that short
    // (a live one heartbeats while its handlers run, however slow their external calls).
    sessionTimeout: 15_000,
    heartbeatInterval: HEARTBEAT_INTERVAL_MS,
    // What a fetch may bring is what the process holds unhandled: 256 kB per partition is a few
    // hundred records, more than a chunk, and keeps a backlog from filling the heap.
    maxBytesPerPartition: 256 * 1024,
    maxBytes: 4 * 1024 * 1024,
  });
  const stopping = new AbortController();
  let lastFetchAt = -Infinity;
  let fetchedAt: Date | null = null;
  consumer.on(consumer.events.FETCH, () => {
    lastFetchAt = performance.now();
    fetchedAt = new Date();
  });
  let assigned = new Map<string, readonly number[]>();
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    fetchedAt = null; // a fetch before the join did not read the partitions it assigned
    assigned = new Map(
      Object.entries(payload.memberAssignment).map(([topic, partitions]) => [
        outOfNamespace(kafka, topic),
        partitions,
      ]),
    );
  });
  for (const event of [consumer.events.REBALANCING, consumer.events.STOP, consumer.events.CRASH]) {
    consumer.on(event, () => (assigned = new Map()));
  }
  const ready = new Promise<void>((resolve) => {
    const removeListener = consumer.on(consumer.events.FETCH, () => {
      removeListener();
      resolve();
    });
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    options.log.info("Consumer joined its group", {
      groupId: options.groupId,
      assignment: payload.memberAssignment,
    });
  });
  const { batch } = options;
  const run = () =>
    consumer.run({
      autoCommit: true,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      ...(batch === undefined
        ? {
          eachMessage: ({ topic, partition, message, heartbeat }) =>
            handleWithPolicy(
              fromKafkaMessage(outOfNamespace(kafka, topic), partition, message),
              options,
              { signal: stopping.signal, heartbeat },
            ),
        }
        : {
          eachBatchAutoResolve: false,
          eachBatch: (payload) =>
            handleBatch(payload, { ...options, batch }, {
              topic: outOfNamespace(kafka, payload.batch.topic),
              signal: stopping.signal,
            }),
        }),
    });
  // Listening before the first run: `run()` resolves before the group is joined, and a join
  // that fails for good (e.g. "Failed to find group coordinator" while the broker restarts) is
  // reported only by the crash event — missed, it left a service up whose consumer never ran.
  const restarts = restartAfterFatalCrash(consumer, run, {
    groupId: options.groupId,
    log: options.log,
    signal: stopping.signal,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: options.topics.map((topic) => inNamespace(kafka, topic)),
      fromBeginning: options.fromBeginning ?? true,
    });
    await run();
  } catch (error) {
    stopping.abort();
    await consumer.disconnect();
    throw error;
  }
  return {
    ready,
    async stop() {
      stopping.abort();
      await restarts.settled();
      await consumer.disconnect();
    },
    pause: (topic) => consumer.pause([{ topic: inNamespace(kafka, topic) }]),
    resume: (topic) => consumer.resume([{ topic: inNamespace(kafka, topic) }]),
    fetchedWithin: (ms) => performance.now() - lastFetchAt <= ms,
    reads: () => ({ assigned, fetchedAt }),
  };
}

/** The part of a kafkajs consumer that {@linkcode restartAfterFatalCrash} uses. */
export type CrashingConsumer = Pick<Consumer, "on" | "events" | "connect">;

/**
 * kafkajs restarts a crashed consumer only when the error, or its original cause, is retriable;
 * otherwise it emits `consumer.crash` with `restart: false`, disconnects and stops for good,
 * while the process (and its /readyz) carries on. Chaos runs hit this: a broker going down gave
 * `KafkaJSNonRetriableError: Failed to find group coordinator`, and the payment service sat idle
 * for minutes. So such a crash is followed here by connecting and running the consumer again,
 * with backoff (1 s doubling to 30 s), until it runs or `signal` aborts.
 */
export function restartAfterFatalCrash(
  consumer: CrashingConsumer,
  run: () => Promise<void>,
  options: { groupId: string; log: Logger; signal: AbortSignal; initialDelayMs?: number },
): { settled(): Promise<void> } {
  let restarting: Promise<void> = Promise.resolve();
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || options.signal.aborted) return;
    options.log.error("Consumer crashed and kafkajs will not restart it; restarting it", {
      groupId: options.groupId,
      error: errorMessage(payload.error),
    });
    restarting = restarting.then(() => restart());
  });

  async function restart(): Promise<void> {
    for (let attempt = 1; !options.signal.aborted; attempt++) {
      const delayMs = Math.min(30_000, (options.initialDelayMs ?? 1_000) * 2 ** (attempt - 1));
      try {
        await sleep(delayMs, options.signal);
        await consumer.connect();
        await run();
        options.log.info("Consumer restarted after a crash", { groupId: options.groupId, attempt });
        return;
      } catch (error) {
        if (options.signal.aborted) return;
        options.log.warn("Cannot restart the consumer yet; retrying", {
          groupId: options.groupId,
          attempt,
          error: errorMessage(error),
        });
      }
    }
  }

  return { settled: () => restarting.catch(() => {}) };
}

/**
 * Hands a fetched batch to the batch handler chunk by chunk, resolving each chunk's offsets once
 * it is handled; a chunk that fails is handled again record by record with the retry policy.
 */
async function handleBatch(
  payload: EachBatchPayload,
  options: ConsumerOptions & Required<Pick<ConsumerOptions, "batch">>,
  { topic, signal }: { topic: string; signal: AbortSignal },
): Promise<void> {
  const { messages, partition } = payload.batch;
  for (const chunk of chunked(messages, options.batch.maxRecords)) {
    if (!payload.isRunning() || payload.isStale()) return;
    const records = chunk.map((message) => fromKafkaMessage(topic, partition, message));
    try {
      await heartbeating(payload.heartbeat, () => options.batch.handler(records, { signal }));
      for (const record of records) options.onOutcome?.(record.topic, "handled");
    } catch (error) {
      if (signal.aborted) throw error;
      options.log.debug("Batch handling failed; handling its records one by one", {
        topic,
        partition,
        records: records.length,
        error,
      });
      for (const record of records) {
        await handleWithPolicy(record, options, { signal, heartbeat: payload.heartbeat });
      }
    }
    const last = chunk.at(-1);
    if (last !== undefined) payload.resolveOffset(last.offset);
    await payload.heartbeat();
  }
}

/**
 * Runs `work`, heartbeating every second meanwhile (kafkajs heartbeats only between handler
 * calls): a handler waiting on slow external calls keeps the consumer's session. A heartbeat that
 * fails (a rebalance) is left to the one after the handler, which kafkajs acts on.
 */
async function heartbeating<T>(heartbeat: () => Promise<void>, work: () => Promise<T>): Promise<T> {
  const timer = setInterval(() => heartbeat().catch(() => {}), HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** `messages` in consecutive chunks of at most `size`. */
function* chunked(messages: KafkaMessage[], size: number): Generator<KafkaMessage[]> {
  for (let start = 0; start < messages.length; start += size) {
    yield messages.slice(start, start + size);
  }
}

async function handleWithPolicy(
  record: ConsumedRecord,
  options: ConsumerOptions,
  context: { signal: AbortSignal; heartbeat: () => Promise<void> },
): Promise<void> {
  const { signal } = context;
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const where = { topic: record.topic, partition: record.partition, offset: record.offset };
  for (let attempt = 1;; attempt++) {
    signal.throwIfAborted();
    try {
      await heartbeating(context.heartbeat, () => options.handler(record, { signal }));
      options.onOutcome?.(record.topic, "handled");
      return;
    } catch (error) {
      if (signal.aborted) throw error;
      const next = onHandlerFailure(error, attempt, policy);
      if (next.action === "dead-letter") {
        await deadLetter(options, record, next.reason, signal);
        return;
      }
      options.onOutcome?.(record.topic, "retried");
      options.log.warn("Record handling failed; retrying", {
        ...where,
        attempt,
        delayMs: next.delayMs,
        error,
      });
      await sleep(next.delayMs, signal);
      await context.heartbeat();
    }
  }
}

async function deadLetter(
  options: ConsumerOptions,
  record: ConsumedRecord,
  reason: string,
  signal: AbortSignal,
): Promise<void> {
  let message = deadLetterMessage(record, reason, new Date());
  for (let attempt = 1;; attempt++) {
    try {
      // Compressed: a record that came in compressed may be far over the broker's limit as it
      // is once decompressed, and a dead letter keeps its value whenever it can.
      await options.producer.send({
        topic: inNamespace(options.producer, DLQ_TOPIC),
        acks: -1,
        compression: kafkajs.CompressionTypes.GZIP,
        messages: [message],
      });
      break;
    } catch (error) {
      // A record near the broker's size limit is over it once the dlq-* headers are added:
      // retrying would never succeed and would hold the partition for good.
      if (isTooLarge(error) && message.value !== null) {
        options.log.warn("Dead letter too large for the broker; sending it without its value", {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
        });
        message = withoutValue(message);
        continue;
      }
      // The DLQ is the last place a record can go: never drop it, retry until stopped.
      options.log.error("Cannot write to the DLQ; retrying", {
        attempt,
        error: errorMessage(error),
      });
      await sleep(Math.min(5_000, 100 * 2 ** attempt), signal);
    }
  }
  options.onOutcome?.(record.topic, "dlq");
  options.log.warn("Record sent to the DLQ", {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    orderId: record.key ?? undefined,
    reason,
  });
}
