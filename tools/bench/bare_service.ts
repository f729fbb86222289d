/**
 * One process of the bench's bare pipeline: the same seven Kafka hops per order as the saga
 * (orders → orchestrator → inventory.commands → inventory → inventory.replies → orchestrator →
 * payment.commands → … → notification.replies → orchestrator), through the same kafkajs client,
 * consumer runner and producer settings, with one durable PostgreSQL commit per chunk of records
 * (an insert of one row per hop into a scratch table, chunks as in the saga's consumers) and no
 * saga logic: no validation, no state, no outbox. Records are forwarded as they came, in
 * batches, one batch in flight at a time (per-order order is kept).
 *
 * The floor the saga is compared against. Not a service: a forwarded record is not acknowledged
 * before the offset moves on, so a crash may lose a hop, and a failed send stops the process.
 */
import { Registry } from "prom-client";
import { COMMON_VARIABLES, integer, loadConfig, text } from "../../lib/config/mod.ts";
import { closeDb, connectDb } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import { createKafka, kafkaLogTo } from "../../lib/kafka/client.ts";
import { type BatchHandler, startConsumer } from "../../lib/kafka/consumer.ts";
import { connectProducer, publish } from "../../lib/kafka/producer.ts";
import { coalescingWriter, createLogger } from "../../lib/log/mod.ts";
import type { WireRecord } from "../../lib/messages/mod.ts";
import { startOpsServer } from "../../lib/ops/mod.ts";
import { closeRedis, connectRedis } from "../../lib/redis/mod.ts";
import { onShutdownSignal, runMain } from "../../lib/service/mod.ts";
import { HAPPY_PATH_TOPICS, SERVICES } from "../../lib/topology/mod.ts";
import type { Producer } from "kafkajs";

/** Records per transaction at most, as in the orchestrator (the saga's busiest consumer). */
const BARE_BATCH_SIZE = 100;

/** Partitions handled at once by every role, as the services' defaults. */
const BARE_CONCURRENCY = 6;

/** The scratch table every hop inserts one row into. */
export const BARE_HOPS_TABLE = "bench_bare.hops";

/** SQL that creates the scratch schema and table (run by the bench before the processes start). */
export const BARE_SCHEMA_SQL = `
  create schema if not exists bench_bare;
  create table if not exists bench_bare.hops (
    id       bigserial primary key,
    order_id uuid        not null,
    topic    text        not null,
    at       timestamptz not null default now()
  )`;

/** A role of the bare pipeline: its consumer group, and where each consumed topic goes next. */
interface BareRole {
  groupId: string;
  /** Consumed topic → topic to forward to (null: the order is done). */
  next: Record<string, string | null>;
}

/**
 * One role per service of the saga, by its name, in its consumer group: each topic the service
 * consumes is forwarded to the next topic of the happy path.
 */
export const BARE_ROLES: Record<string, BareRole> = Object.fromEntries(
  SERVICES.map((service) => [service.name, {
    groupId: service.group,
    next: Object.fromEntries(
      service.consumes.map((topic) => [
        topic,
        HAPPY_PATH_TOPICS[HAPPY_PATH_TOPICS.indexOf(topic) + 1] ?? null,
      ]),
    ),
  }]),
);

const BARE_VARIABLES = {
  ...COMMON_VARIABLES,
  BARE_ROLE: text(),
  BARE_PORT: integer({ min: 0, max: 65_535 }),
  /** Redis channel on which the orchestrator role publishes each finished order's id. */
  BARE_DONE_CHANNEL: text(),
};

/** Sends queued records in batches, one batch in flight at a time. */
function createForwarder(producer: Producer, onFailure: (error: unknown) => void) {
  let queue: WireRecord[] = [];
  let sending: Promise<void> | null = null;
  function pump(): void {
    if (sending !== null || queue.length === 0) return;
    const batch = queue;
    queue = [];
    sending = publish(producer, batch).then(
      () => {
        sending = null;
        pump();
      },
      onFailure,
    );
  }
  return {
    push(record: WireRecord): void {
      queue.push(record);
      pump();
    },
    async drain(): Promise<void> {
      while (sending !== null) await sending;
    },
  };
}

/** Runs one role of the bare pipeline until SIGINT or SIGTERM. */
export async function main(): Promise<void> {
  const config = loadConfig(BARE_VARIABLES, Deno.env.toObject());
  const role = BARE_ROLES[config.BARE_ROLE];
  if (role === undefined) {
    throw new RangeError(
      `Invalid configuration: BARE_ROLE must be one of ${Object.keys(BARE_ROLES).join(", ")} ` +
        `(got "${config.BARE_ROLE}")`,
    );
  }
  const name = `bare-${config.BARE_ROLE}`;
  const log = createLogger(name, {
    level: config.LOG_LEVEL,
    write: coalescingWriter((lines) => console.log(lines)),
  });
  const sql = connectDb(config.DATABASE_URL, { applicationName: name });
  const redis = connectRedis(config.REDIS_URL, { connectionName: name });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: name,
    namespace: config.KAFKA_NAMESPACE,
    logCreator: kafkaLogTo(log),
  });
  const producer = await connectProducer(kafka);
  const forwarder = createForwarder(producer, (error) => {
    log.error("Cannot forward records; stopping", { error: errorMessage(error) });
    Deno.exit(1);
  });
  const handleRecords: BatchHandler = async (records) => {
    const hops = records.filter((record) => record.key !== null);
    if (hops.length === 0) return;
    await sql`insert into ${sql(BARE_HOPS_TABLE)} (order_id, topic)
      select * from unnest(${hops.map((r) => r.key!)}::uuid[], ${
      hops.map((r) => r.topic)
    }::text[])`;
    for (const record of hops) {
      const orderId = record.key!;
      const next = role.next[record.topic];
      if (next === null || next === undefined) {
        redis.publish(config.BARE_DONE_CHANNEL, orderId).catch((error) =>
          log.warn("Cannot publish a finished order", { orderId, error: errorMessage(error) })
        );
      } else {
        forwarder.push({ topic: next, key: orderId, value: record.value, headers: record.headers });
      }
    }
  };
  const consumer = await startConsumer(kafka, {
    groupId: role.groupId,
    topics: Object.keys(role.next),
    producer,
    log,
    handler: handleRecords,
    maxRecords: BARE_BATCH_SIZE,
    partitionsConcurrently: BARE_CONCURRENCY,
  });
  const ops = await startOpsServer({
    port: config.BARE_PORT,
    hostname: "127.0.0.1",
    service: name,
    registry: new Registry(),
    readinessChecks: { consumer: () => consumer.ready },
  });
  log.info("Bare pipeline role running", { role: config.BARE_ROLE, groupId: role.groupId });
  try {
    const signal = await onShutdownSignal();
    log.info("Shutting down", { signal });
  } finally {
    await ops.close();
    await consumer.stop();
    await forwarder.drain();
    await producer.disconnect();
    await closeRedis(redis);
    await closeDb(sql);
  }
}

if (import.meta.main) runMain(main);
