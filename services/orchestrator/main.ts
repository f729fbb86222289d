/**
 * `deno task run:orchestrator`: drives order sagas. Consumes `orders` and the reply topics,
 * keeps saga state in PostgreSQL, sends commands through its outbox, sweeps deadlines and
 * retries, and caches statuses in Redis for `sagactl`.
 */
import { Gauge } from "prom-client";
import {
  COMMON_VARIABLES,
  duration,
  integer,
  loadConfig,
  partitionConcurrency,
  withDotEnv,
} from "../../lib/config/mod.ts";
import { startConsumer } from "../../lib/kafka/consumer.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { checkRedis } from "../../lib/ops/mod.ts";
import {
  ORCHESTRATOR_SAGAS,
  replyRoutes,
  SAGA_POLICY_VARIABLES,
  sagaPolicyFrom,
} from "../../lib/order_saga/mod.ts";
import { closeRedis, connectRedis } from "../../lib/redis/mod.ts";
import { onShutdownSignal, openServiceRuntime, runMain } from "../../lib/service/mod.ts";
import { ORCHESTRATOR, ORCHESTRATOR_TOPICS } from "../../lib/topology/mod.ts";
import { startAdmissionControl } from "./admission.ts";
import { createOrchestratorHandler } from "./handlers.ts";
import { createSagaMetrics, createStatusPublisher, type OnApplied } from "./observers.ts";
import { startReplyReadRecorder } from "./reply_reads.ts";
import { startSweeper } from "./sweeper.ts";

/** Configuration of the orchestrator. */
export const ORCHESTRATOR_VARIABLES = {
  ...COMMON_VARIABLES,
  ...SAGA_POLICY_VARIABLES,
  ORCHESTRATOR_PORT: integer({ min: 0, max: 65_535, fallback: ORCHESTRATOR.opsPort }),
  SWEEP_INTERVAL: duration("1s"),
  /** Records handled in one transaction, at most. */
  ORCHESTRATOR_BATCH_SIZE: integer({ min: 1, max: 10_000, fallback: 100 }),
  /** Partitions handled at the same time, each in its own transaction. */
  ORCHESTRATOR_CONCURRENCY: partitionConcurrency(6),
  /** Sagas in progress at which new orders wait in Kafka (admission control). */
  MAX_SAGAS_IN_PROGRESS: integer({ min: 1, max: 10_000_000, fallback: 1_000 }),
};

/** How often admission control counts the sagas in progress. */
const ADMISSION_INTERVAL_MS = 500;

/** Runs the orchestrator until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadConfig(ORCHESTRATOR_VARIABLES, withDotEnv(Deno.env.toObject()));
  const policy = sagaPolicyFrom(config);
  const redis = connectRedis(config.REDIS_URL, {
    connectionName: ORCHESTRATOR.name,
    enableOfflineQueue: false,
    onError: () => {}, // reported by the status publisher and /readyz
  });
  const runtime = await openServiceRuntime({
    name: ORCHESTRATOR.name,
    schema: ORCHESTRATOR.schema,
    config,
    opsPort: config[ORCHESTRATOR.portVariable],
    readiness: { redis: checkRedis(redis) },
  });
  runtime.onClose(() => closeRedis(redis));
  try {
    const { sql, log, metrics } = runtime;
    const publishStatuses = createStatusPublisher(redis, log);
    const recordMetrics = createSagaMetrics(metrics.registry);
    const onApplied: OnApplied = (applied, versions) => {
      for (const event of applied) recordMetrics(event);
      void publishStatuses(applied, versions); // best effort: nobody waits for the cache
    };
    const { relay } = runtime;
    const sagas = ORCHESTRATOR_SAGAS;
    const handleRecords = createOrchestratorHandler({
      sql,
      log,
      policy,
      sagas,
      onApplied,
      relay,
    });
    const consumer = await startConsumer(runtime.kafka, {
      groupId: ORCHESTRATOR.group,
      topics: ORCHESTRATOR_TOPICS,
      producer: runtime.producer,
      log,
      handler: handleRecords,
      maxRecords: config.ORCHESTRATOR_BATCH_SIZE,
      partitionsConcurrently: config.ORCHESTRATOR_CONCURRENCY,
      onOutcome: (topic, outcome) => metrics.kafkaMessagesConsumed.inc({ topic, outcome }),
    });
    runtime.onClose(() => consumer.stop());
    // Sweep only once replies flow: after a restart, the replies waiting in Kafka must be read
    // before their steps are declared overdue.
    await consumer.ready;
    // Deadlines count only while some replica reads the reply's partition (sweeper.ts).
    const replyReads = startReplyReadRecorder({
      sql,
      log,
      kafka: runtime.kafka,
      consumer,
      routes: sagas.definitions.flatMap(replyRoutes),
    });
    runtime.onClose(() => replyReads.stop());
    await replyReads.recordOnce().catch(() => {}); // the loop retries and reports
    const sweeper = startSweeper({
      sql,
      log,
      policy,
      sagas,
      intervalMs: config.SWEEP_INTERVAL,
      onApplied,
      relay,
      replies: () => replyReads.partitioning(),
    });
    runtime.onClose(() => sweeper.stop());
    const inProgress = new Gauge({
      name: "saga_in_progress",
      // Every replica counts the same shared table: take the max over replicas, not the sum.
      help: "Sagas not in a final status (of all replicas), as admission control last counted them",
      registers: [metrics.registry],
    });
    const admission = startAdmissionControl({
      sql,
      log,
      limit: config.MAX_SAGAS_IN_PROGRESS,
      intervalMs: ADMISSION_INTERVAL_MS,
      consumer,
      topic: TOPICS.orders,
      onCount: (count) => inProgress.set(count),
    });
    runtime.onClose(() => admission.stop());
    log.info("Orchestrator running", {
      stepTimeoutMs: policy.stepTimeoutMs,
      stepGiveUpMs: policy.stepGiveUpMs,
      compensationGiveUpMs: policy.compensationGiveUpMs,
    });
    const signal = await onShutdownSignal();
    log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}

if (import.meta.main) runMain(main);
