/**
 * The consumer runner: hands each record to a handler, retries failures by one policy
 * (`onHandlerFailure`), dead-letters what can never succeed, and lets an offset be committed
 * only once its record was handled or dead-lettered.
 */
import type { Consumer, EachMessagePayload, Kafka, Producer } from "kafkajs";
import type { Logger } from "../log/mod.ts";
import { sleep } from "../async/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import { deadLetterMessage, DLQ_TOPIC } from "./dlq.ts";
import { inNamespace, outOfNamespace } from "./namespace.ts";
import { type ConsumedRecord, fromKafkaMessage } from "./records.ts";
import { DEFAULT_RETRY_POLICY, onHandlerFailure, type RetryPolicy } from "./retry_policy.ts";

/** Handles one record; throws to have it retried or dead-lettered. */
export type RecordHandler = (
  record: ConsumedRecord,
  context: { signal: AbortSignal },
) => Promise<void>;

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
}

/** A running consumer. */
export interface RunningConsumer {
  /** Resolves once the group is joined and the first fetch is done: positions are set. */
  ready: Promise<void>;
  /** Stops fetching, lets the record in hand finish (or abandons its retries), commits, leaves. */
  stop(): Promise<void>;
}

/** Connects a consumer in `groupId`, subscribes to `topics` and starts handling records. */
export async function startConsumer(
  kafka: Kafka,
  options: ConsumerOptions,
): Promise<RunningConsumer> {
  const consumer: Consumer = kafka.consumer({
    groupId: inNamespace(kafka, options.groupId),
    // A short fetch wait keeps shutdown quick: disconnect waits for the fetch in flight.
    maxWaitTimeInMs: 250,
    // A member that crashed holds its partitions until its session expires: keep that short,
    // yet longer than one handler call can run without a heartbeat (e.g. a slow Stripe call).
    sessionTimeout: 15_000,
    heartbeatInterval: 1_000,
  });
  const stopping = new AbortController();
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
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: options.topics.map((topic) => inNamespace(kafka, topic)),
      fromBeginning: options.fromBeginning ?? true,
    });
    await consumer.run({
      autoCommit: true,
      eachMessage: (payload) =>
        handleWithPolicy(
          { ...payload, topic: outOfNamespace(kafka, payload.topic) },
          options,
          stopping.signal,
        ),
    });
  } catch (error) {
    await consumer.disconnect();
    throw error;
  }
  return {
    ready,
    async stop() {
      stopping.abort();
      await consumer.disconnect();
    },
  };
}

async function handleWithPolicy(
  payload: EachMessagePayload,
  options: ConsumerOptions,
  signal: AbortSignal,
): Promise<void> {
  const record = fromKafkaMessage(payload.topic, payload.partition, payload.message);
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const where = { topic: record.topic, partition: record.partition, offset: record.offset };
  for (let attempt = 1;; attempt++) {
    signal.throwIfAborted();
    try {
      await options.handler(record, { signal });
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
      await payload.heartbeat();
    }
  }
}

async function deadLetter(
  options: ConsumerOptions,
  record: ConsumedRecord,
  reason: string,
  signal: AbortSignal,
): Promise<void> {
  const message = deadLetterMessage(record, reason, new Date());
  for (let attempt = 1;; attempt++) {
    try {
      await options.producer.send({
        topic: inNamespace(options.producer, DLQ_TOPIC),
        acks: -1,
        messages: [message],
      });
      break;
    } catch (error) {
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
