/**
 * What every service opens at start and closes at stop, in one place: logger, PostgreSQL (with
 * migrations applied), Kafka (topics ensured, an idempotent producer, an admin for readiness),
 * the outbox relay of its schema, metrics and the ops server. Services add their consumers.
 */
import { fileURLToPath } from "node:url";
import type { Admin, Kafka, Producer } from "kafkajs";
import { closeDb, connectDb, runMigrations, type Sql } from "../db/mod.ts";
import { createKafka, kafkaLogTo } from "../kafka/client.ts";
import { connectProducer } from "../kafka/producer.ts";
import { ensureTopics } from "../kafka/topics.ts";
import { coalescingWriter, createLogger, type Logger, type LogLevel } from "../log/mod.ts";
import { ALL_TOPICS } from "../messages/mod.ts";
import {
  checkPostgres,
  createMetrics,
  type ReadinessCheck,
  type ServiceMetrics,
  startOpsServer,
} from "../ops/mod.ts";
import { type OutboxRelay, readOutboxBacklog, startOutboxRelay } from "../outbox/mod.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

/** The settings a runtime needs (a subset of each service's config). */
export interface RuntimeConfig {
  KAFKA_BROKERS: string[];
  KAFKA_NAMESPACE: string;
  KAFKA_TOPIC_PARTITIONS: number;
  DATABASE_URL: string;
  LOG_LEVEL: LogLevel;
  /** Where the ops server listens (default 127.0.0.1). */
  OPS_HOST?: string;
}

/** Options of `openServiceRuntime`. */
export interface RuntimeOptions {
  /** Service name: logs, metrics, Kafka client id. */
  name: string;
  /** The service's PostgreSQL schema (outbox, idempotency keys). */
  schema: string;
  config: RuntimeConfig;
  /** Port of the ops server (0 = any free one). */
  opsPort: number;
  /** Extra readiness checks, e.g. Redis. */
  readiness?: Record<string, ReadinessCheck>;
}

/** The open resources of a service. */
export interface ServiceRuntime {
  name: string;
  schema: string;
  log: Logger;
  sql: Sql;
  kafka: Kafka;
  producer: Producer;
  metrics: ServiceMetrics;
  relay: OutboxRelay;
  /** Port the ops server listens on. */
  opsPort: number;
  /** Runs `close` at shutdown, before what was opened earlier (reverse order). */
  onClose(close: () => Promise<void>): void;
  /** Closes everything in reverse order of opening; the outbox is flushed first. */
  close(): Promise<void>;
}

/** Opens the shared resources of a service; on failure closes what was opened and rethrows. */
export async function openServiceRuntime(options: RuntimeOptions): Promise<ServiceRuntime> {
  const { config, name, schema } = options;
  const log = createLogger(name, {
    level: config.LOG_LEVEL,
    write: coalescingWriter((lines) => console.log(lines)),
  });
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) {
      try {
        await closer();
      } catch (error) {
        log.warn("Error while shutting down", { error });
      }
    }
  };
  try {
    const sql = connectDb(config.DATABASE_URL, { applicationName: name });
    closers.push(() => closeDb(sql));
    const migrations = await runMigrations(sql, MIGRATIONS_DIR);
    if (migrations.applied.length > 0) {
      log.info("Migrations applied", { applied: migrations.applied });
    }

    const kafka = createKafka({
      brokers: config.KAFKA_BROKERS,
      clientId: name,
      namespace: config.KAFKA_NAMESPACE,
      logCreator: kafkaLogTo(log),
    });
    const created = await ensureTopics(kafka, {
      topics: ALL_TOPICS,
      partitions: config.KAFKA_TOPIC_PARTITIONS,
    });
    if (created.length > 0) log.info("Topics created", { created });
    const admin = kafka.admin();
    await admin.connect();
    closers.push(() => admin.disconnect());
    const producer = await connectProducer(kafka);
    closers.push(() => producer.disconnect());

    const metrics = createMetrics(name, {
      outboxBacklog: async () => (await readOutboxBacklog(sql, schema)).unpublished,
    });
    const relay = await startOutboxRelay({
      sql,
      schema,
      producer,
      log,
      onPublished: (count) => metrics.outboxPublished.inc(count),
    });
    closers.push(() => relay.stop());

    const ops = await startOpsServer({
      port: options.opsPort,
      hostname: config.OPS_HOST,
      service: name,
      registry: metrics.registry,
      readinessChecks: {
        postgres: checkPostgres(sql),
        kafka: checkKafka(admin),
        ...options.readiness,
      },
    });
    closers.push(() => ops.close());
    log.info("Service runtime open", { opsHost: ops.address, opsPort: ops.port });
    return {
      name,
      schema,
      log,
      sql,
      kafka,
      producer,
      metrics,
      relay,
      opsPort: ops.port,
      onClose: (closer) => closers.push(closer),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function checkKafka(admin: Admin): ReadinessCheck {
  return async function checkKafkaReady() {
    await admin.describeCluster();
  };
}
