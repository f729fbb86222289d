/** Topic administration and broker readiness, over a kafkajs client. */
import type { Admin, Kafka } from "kafkajs";
import { inNamespace } from "./namespace.ts";
import { sleep } from "../async/mod.ts";
import { isTopicNotReady } from "./errors.ts";

/** Options of {@linkcode ensureTopics}. */
export interface EnsureTopicsOptions {
  /** Topic names to exist afterwards (duplicates are ignored). */
  topics: readonly string[];
  /** Partitions of each topic that has to be created; existing topics are left as they are. */
  partitions: number;
  /**
   * Replicas of each created topic; unless given, the broker's `default.replication.factor`
   * (1 on the local single broker, 3 on the local cluster), and with it its `min.insync.replicas`.
   */
  replicationFactor?: number;
  /** `min.insync.replicas` of each created topic; unless given, the broker's. */
  minInsyncReplicas?: number;
}

/** Creates the topics that do not exist yet and resolves with the names it created. */
export async function ensureTopics(kafka: Kafka, options: EnsureTopicsOptions): Promise<string[]> {
  const { partitions, replicationFactor, minInsyncReplicas } = options;
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot create topics: partitions must be an integer >= 1, got ${partitions}`,
    );
  }
  if (
    replicationFactor !== undefined &&
    (!Number.isInteger(replicationFactor) || replicationFactor < 1)
  ) {
    throw new RangeError(
      `Cannot create topics: replicationFactor must be an integer >= 1, got ${replicationFactor}`,
    );
  }
  if (
    minInsyncReplicas !== undefined &&
    (!Number.isInteger(minInsyncReplicas) || minInsyncReplicas < 1)
  ) {
    throw new RangeError(
      `Cannot create topics: minInsyncReplicas must be an integer >= 1, got ${minInsyncReplicas}`,
    );
  }
  const started = Date.now();
  for (let attempt = 0;; attempt++) {
    try {
      return await createMissingTopics(kafka, options);
    } catch (error) {
      if (!isTopicNotReady(error) || Date.now() - started > TOPICS_WAIT_MS) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

/** How long `ensureTopics` asks again while the cluster says a topic is not ready yet. */
const TOPICS_WAIT_MS = 60_000;

/** One try of `ensureTopics`: creates the missing topics and waits for their leaders. */
async function createMissingTopics(kafka: Kafka, options: EnsureTopicsOptions): Promise<string[]> {
  const { partitions, replicationFactor, minInsyncReplicas } = options;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = options.topics.map((topic) => inNamespace(kafka, topic));
    const missing = [...new Set(wanted)].filter((topic) => !existing.has(topic));
    if (missing.length === 0) return [];
    try {
      await admin.createTopics({
        topics: missing.map((topic) => ({
          topic,
          numPartitions: partitions,
          // -1: the broker's default (CreateTopics takes it since Kafka 2.4, KIP-464).
          replicationFactor: replicationFactor ?? -1,
          configEntries: minInsyncReplicas === undefined
            ? []
            : [{ name: "min.insync.replicas", value: String(minInsyncReplicas) }],
        })),
        waitForLeaders: true,
      });
      return missing;
    } catch (error) {
      // Someone else created some of them between our listing and our request: not an error.
      const alreadyExisting = topicsAlreadyExisting(error);
      if (alreadyExisting === undefined) {
        throw new Error(`Cannot create topics ${missing.join(", ")}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      return missing.filter((topic) => !alreadyExisting.has(topic));
    }
  } finally {
    await admin.disconnect();
  }
}

/** The topics named by a kafkajs aggregate error when its every entry is TOPIC_ALREADY_EXISTS. */
function topicsAlreadyExisting(error: unknown): Set<string> | undefined {
  const errors = (error as { errors?: unknown })?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return undefined;
  const topics = new Set<string>();
  for (const entry of errors as { type?: unknown; topic?: unknown }[]) {
    if (entry?.type !== "TOPIC_ALREADY_EXISTS" || typeof entry.topic !== "string") return undefined;
    topics.add(entry.topic);
  }
  return topics;
}

/** Options of {@linkcode waitForKafka}. */
export interface WaitForKafkaOptions {
  /** Give up after this long. */
  timeoutMs: number;
  /** Pause between two attempts; 250 ms unless given. */
  intervalMs?: number;
  /** Stops waiting early (e.g. the broker process died); rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Wait until this many brokers are registered (a cluster's every node); 1 unless given. */
  minBrokers?: number;
}

/** What the cluster said about itself once it answered. */
export interface ClusterInfo {
  clusterId: string;
  /** Node id of the controller the broker reports (any live broker id under KRaft). */
  controller: number | null;
  brokers: { nodeId: number; host: string; port: number }[];
}

/** Polls `describeCluster()` until a broker answers, or rejects once `timeoutMs` has passed. */
export async function waitForKafka(
  kafka: Kafka,
  options: WaitForKafkaOptions,
): Promise<ClusterInfo> {
  const { timeoutMs, intervalMs = 250, signal, minBrokers = 1 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error("no attempt was made");
  while (true) {
    signal?.throwIfAborted();
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`Kafka did not answer within ${timeoutMs} ms: ${messageOf(lastError)}`, {
        cause: lastError,
      });
    }
    // No client-side retries: this loop is the retry, bounded by the deadline.
    const admin = kafka.admin({ retry: { retries: 0 } });
    try {
      const cluster = await withDeadline(describe(admin), remaining, signal);
      if (cluster.brokers.length >= minBrokers) {
        return {
          clusterId: cluster.clusterId,
          controller: cluster.controller,
          brokers: cluster.brokers.map(({ nodeId, host, port }) => ({ nodeId, host, port })),
        };
      }
      lastError = new Error(
        cluster.brokers.length === 0
          ? "the cluster has no registered broker yet"
          : `${cluster.brokers.length} of ${minBrokers} brokers registered`,
      );
    } catch (error) {
      signal?.throwIfAborted();
      lastError = error;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await pause(Math.min(intervalMs, Math.max(0, deadline - Date.now())), signal);
  }
}

async function describe(admin: Admin): ReturnType<Admin["describeCluster"]> {
  await admin.connect();
  return await admin.describeCluster();
}

/** Resolves like `promise`, or rejects when `ms` pass or `signal` aborts first. */
function withDeadline<T>(promise: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  promise.catch(() => {}); // A late rejection after the deadline must not go unhandled.
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(signal?.reason));
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no answer within ${ms} ms`))),
      ms,
    );
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
  });
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
