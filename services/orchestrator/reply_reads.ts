/**
 * Records which reply partitions this replica reads, for deadlines held per reply partition
 * (the design is in sweeper.ts): about every second, the reply partitions of its consumer's
 * assignment and the time of its last fetch go to `orchestrator.reply_partitions`, and a
 * partition read again after nobody read it pushes its sagas' deadlines on by the time held. The
 * reply topics' partition counts are read from the broker at start and every minute.
 */
import { hostname } from "node:os";
import process from "node:process";
import type { Admin, Kafka } from "kafkajs";
import { sleep } from "../../lib/async/mod.ts";
import { type Sql, withTransaction } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { RunningConsumer } from "../../lib/kafka/consumer.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { replyTopics } from "../../lib/order_saga/mod.ts";
import {
  recordReplyReads,
  type ReplyPartitioning,
  type ReplyRead,
  type ReplyRoute,
} from "../../lib/orchestrator_store/mod.ts";

/** Options of `startReplyReadRecorder`. */
export interface ReplyReadRecorderOptions {
  sql: Sql;
  log: Logger;
  /** For the reply topics' partition counts. */
  kafka: Kafka;
  consumer: Pick<RunningConsumer, "reads">;
  routes: readonly ReplyRoute[];
  /** Pause between two records (default 1 s). */
  intervalMs?: number;
  /** Who reads, for operators (default host:pid). */
  reader?: string;
}

/** A running recorder. */
export interface ReplyReadRecorder {
  /** The routes and the reply topics' sizes as last read (none known before the first read). */
  partitioning(): ReplyPartitioning;
  /** Records once now (the loop does it every interval). */
  recordOnce(): Promise<void>;
  stop(): Promise<void>;
}

/** How often the reply topics' partition counts are read again. */
const METADATA_EVERY_MS = 60_000;

/** Starts recording, every `intervalMs`, what the consumer reads. */
export function startReplyReadRecorder(options: ReplyReadRecorderOptions): ReplyReadRecorder {
  const topics = replyTopics(options.routes);
  const reader = options.reader ?? `${hostname()}:${process.pid}`;
  const stopping = new AbortController();
  let partitions = new Map<string, number>();
  let metadataAt = -Infinity;
  let admin: Admin | null = null;

  async function readPartitionCounts(): Promise<void> {
    if (admin === null) {
      admin = options.kafka.admin();
      await admin.connect();
    }
    const named = new Map(topics.map((topic) => [inNamespace(options.kafka, topic), topic]));
    const metadata = await admin.fetchTopicMetadata({ topics: [...named.keys()] });
    partitions = new Map(
      metadata.topics.flatMap(({ name, partitions }) => {
        const topic = named.get(name);
        return topic === undefined || partitions.length === 0 ? [] : [[topic, partitions.length]];
      }),
    );
    metadataAt = performance.now();
  }

  async function recordOnce(): Promise<void> {
    if (performance.now() - metadataAt >= METADATA_EVERY_MS) await readPartitionCounts();
    const { assigned, fetchedAt } = options.consumer.reads();
    if (fetchedAt === null) return;
    const reads: ReplyRead[] = topics.flatMap((topic) =>
      (assigned.get(topic) ?? []).map((partition) => ({ topic, partition }))
    );
    const resumed = await withTransaction(options.sql, (tx) =>
      recordReplyReads(tx, {
        reads,
        readAt: fetchedAt,
        reader,
        partitioning: { routes: options.routes, partitions },
      }));
    for (const gap of resumed) {
      options.log.info("Reply partition read again: its deadlines were held meanwhile", { ...gap });
    }
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await recordOnce();
      } catch (error) {
        options.log.warn("Cannot record the reply partitions read; will retry", {
          error: errorMessage(error),
        });
      }
      await sleep(options.intervalMs ?? 1_000, stopping.signal).catch(() => {});
    }
  })();

  return {
    partitioning: () => ({ routes: options.routes, partitions }),
    recordOnce,
    async stop() {
      stopping.abort();
      await loop;
      await (admin as Admin | null)?.disconnect();
    },
  };
}
