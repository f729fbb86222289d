/**
 * The consumer runner: hands the records fetched to a handler in chunks (one partition's records,
 * in order), retries failures by one policy (`onHandlerFailure`), dead-letters what can never
 * succeed, and lets an offset be committed only once its record was handled or dead-lettered.
 */
import kafkajs from "kafkajs";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from "kafkajs";
import type { Logger } from "../log/mod.ts";
import { sleep } from "../async/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import { coalescing } from "./coalesce.ts";
import { deadLetterMessage, DLQ_TOPIC, withoutValue } from "./dlq.ts";
import { isTooLarge } from "./errors.ts";
import { inNamespace, outOfNamespace } from "./namespace.ts";
import { type ConsumedRecord, fromKafkaMessage } from "./records.ts";
import { DEFAULT_RETRY_POLICY, onHandlerFailure, type RetryPolicy } from "./retry_policy.ts";

/**
 * Handles a chunk of records as one unit (e.g. one transaction): all of them or none; throws to
 * have them retried. A chunk holds the records of one or more partitions, each partition's in
 * order (the partitions of one fetch are handled together: `coalescing`). When a chunk of
 * several records fails, the consumer hands them over again one per chunk, so that a poison
 * record is retried or dead-lettered on its own while the others are handled.
 */
export type BatchHandler = (
  records: readonly ConsumedRecord[],
  context: { signal: AbortSignal },
) => Promise<void>;

/** How a record ended, for metrics. */
export type RecordOutcome = "handled" | "retried" | "dlq";

/** Options of `startConsumer`. */
export interface ConsumerOptions {
  groupId: string;
  topics: readonly string[];
  /** Handles the records fetched, chunks of at most `maxRecords`. */
  handler: BatchHandler;
  /** Records in a chunk at most (default 100): a larger fetch is handed over in several. */
  maxRecords?: number;
  /** Producer used for dead letters. */
  producer: Producer;
  log: Logger;
  retry?: RetryPolicy;
  /** Read a new group's topics from the start (default true: nothing produced before is missed). */
  fromBeginning?: boolean;
  /** Called for every attempt's outcome (metrics). */
  onOutcome?: (topic: string, outcome: RecordOutcome) => void;
  /** Partitions handled at the same time (default 1); records of one partition stay in order. */
  partitionsConcurrently?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Resolves once the group is joined and the first fetch is done: positions are set. */
  ready: Promise<void>;
  /** Stops fetching, lets the chunk in hand finish (or abandons its retries), commits, leaves. */
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
const DEFAULT_MAX_RECORDS = 100;

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
  const committer = createOffsetCommitter({ groupId: options.groupId, log: options.log });
  // The partitions of a fetch, handed over concurrently, handled in one call (one transaction).
  const handling: ConsumerOptions = (options.partitionsConcurrently ?? 1) > 1
    ? {
      ...options,
      handler: coalescing(options.handler, {
        maxRecords: options.maxRecords ?? DEFAULT_MAX_RECORDS,
      }),
    }
    : options;
  const run = () =>
    consumer.run({
      // Committed by `committer`, off the fetch loop: kafkajs's auto-commit awaits a commit
      // after every batch before the next fetch (one per partition, queued on one connection).
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 1,
      eachBatchAutoResolve: false,
      eachBatch: (payload) =>
        handleBatch(payload, handling, {
          topic: outOfNamespace(kafka, payload.batch.topic),
          signal: stopping.signal,
          committer,
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
      await committer.flush();
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

/** What commits the offsets of a group member's handled records (`createOffsetCommitter`). */
export interface OffsetCommitter {
  /** Commits what `payload` (the batch in hand) has resolved, soon; never waits for it. */
  commitSoon(payload: CommitSource): void;
  /** Commits what was resolved, after the commit in flight; resolves once done (or failed). */
  flush(): Promise<void>;
}

/** The part of a kafkajs batch payload that commits the member's resolved offsets. */
export type CommitSource = Pick<
  EachBatchPayload,
  "uncommittedOffsets" | "commitOffsetsIfNecessary"
>;

/** How often a member commits its handled records' offsets at most, by default. */
export const DEFAULT_COMMIT_INTERVAL_MS = 500;

/**
 * Commits the offsets a member resolved, one commit in flight at a time and one every
 * `intervalMs` at most: what is resolved meanwhile goes in the next, so a busy member sends a
 * couple of commits a second, not one per chunk of each partition, and no fetch waits for them.
 * `flush` commits at once (a stop, a rebalance). A failed commit (a rebalance, the broker away)
 * is logged and left to the next: records handled since the last commit are handled again after
 * a crash or rebalance (at least once; consumers dedupe by event id).
 */
export function createOffsetCommitter(
  { groupId, log, intervalMs = DEFAULT_COMMIT_INTERVAL_MS }: {
    groupId: string;
    log: Logger;
    intervalMs?: number;
  },
): OffsetCommitter {
  let source: CommitSource | null = null;
  let inFlight: Promise<void> | null = null;
  let again = false;
  let lastStartedAt = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;

  async function commitResolved(): Promise<void> {
    const offsets = source?.uncommittedOffsets();
    if (source === null || offsets === undefined || offsets.topics.length === 0) return;
    try {
      await source.commitOffsetsIfNecessary(offsets);
    } catch (error) {
      log.warn("Cannot commit offsets; the next commit takes them", {
        groupId,
        error: errorMessage(error),
      });
    }
  }

  /** Commits now, unless one is in flight (then after it) or one started within the interval. */
  function schedule(): void {
    if (inFlight !== null) {
      again = true;
      return;
    }
    if (timer !== null) return;
    const wait = lastStartedAt + intervalMs - performance.now();
    if (wait <= 0) {
      void start();
      return;
    }
    timer = setTimeout(() => {
      timer = null;
      void start();
    }, wait);
  }

  function start(): Promise<void> {
    lastStartedAt = performance.now();
    inFlight = (async () => {
      try {
        await commitResolved();
      } finally {
        inFlight = null;
      }
      if (again) {
        again = false;
        schedule();
      }
    })();
    return inFlight;
  }

  return {
    commitSoon(payload) {
      source = payload;
      schedule();
    },
    async flush() {
      while (inFlight !== null) await inFlight;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      again = false;
      await start();
    },
  };
}

/** Hands a fetched batch to the handler chunk by chunk; has each chunk's offsets committed. */
async function handleBatch(
  payload: EachBatchPayload,
  options: ConsumerOptions,
  { topic, signal, committer }: { topic: string; signal: AbortSignal; committer: OffsetCommitter },
): Promise<void> {
  const { messages, partition } = payload.batch;
  const context = { signal, heartbeat: payload.heartbeat, resolveOffset: payload.resolveOffset };
  let carriedOn = false;
  try {
    for (const chunk of chunked(messages, options.maxRecords ?? DEFAULT_MAX_RECORDS)) {
      if (!payload.isRunning() || payload.isStale()) return;
      const records = chunk.map((message) => fromKafkaMessage(topic, partition, message));
      await handleChunk(records, options, context);
      committer.commitSoon(payload);
      await payload.heartbeat();
    }
    carriedOn = !signal.aborted;
  } finally {
    // Stopping, or a failure (e.g. a heartbeat saying the group rebalances): what was handled
    // is committed before kafkajs leaves or rejoins, as its auto-commit did (off: startConsumer).
    if (!carriedOn) {
      committer.commitSoon(payload);
      await committer.flush();
    }
  }
}

/**
 * Hands `records` to the handler once and resolves their offsets; when a chunk of several fails,
 * hands them over again one per chunk, each with the retry policy, resolving each record's
 * offset once it is handled or dead-lettered (kafkajs commits those even when a stop aborts the
 * rest). A chunk of one goes to the retry policy at once.
 */
async function handleChunk(
  records: readonly ConsumedRecord[],
  options: ConsumerOptions,
  context: HandlingContext,
): Promise<void> {
  const { signal } = context;
  if (records.length > 1) {
    try {
      await heartbeating(context.heartbeat, () => options.handler(records, { signal }));
      for (const record of records) options.onOutcome?.(record.topic, "handled");
      const last = records.at(-1);
      if (last !== undefined) context.resolveOffset(last.offset);
      return;
    } catch (error) {
      if (signal.aborted) throw error;
      const [first] = records;
      options.log.debug("Chunk handling failed; handling its records one by one", {
        topic: first?.topic,
        partition: first?.partition,
        records: records.length,
        error,
      });
    }
  }
  for (const record of records) {
    await handleWithPolicy(record, options, context);
    context.resolveOffset(record.offset);
  }
}

/** What handling a chunk needs from the fetch it came in. */
interface HandlingContext {
  signal: AbortSignal;
  heartbeat: () => Promise<void>;
  /** Marks the records up to `offset` as done: kafkajs commits after them. */
  resolveOffset: (offset: string) => void;
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

/** Hands `record` to the handler as a chunk of one until it is handled or dead-lettered. */
async function handleWithPolicy(
  record: ConsumedRecord,
  options: ConsumerOptions,
  context: HandlingContext,
): Promise<void> {
  const { signal } = context;
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const where = { topic: record.topic, partition: record.partition, offset: record.offset };
  for (let attempt = 1;; attempt++) {
    signal.throwIfAborted();
    try {
      await heartbeating(context.heartbeat, () => options.handler([record], { signal }));
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
