/**
 * Step deadlines through the real orchestrator: its processes against real Kafka and PostgreSQL,
 * with the test as every participant (it reads the commands from their topics with a Kafka
 * client and produces the replies). An unanswered command is sent again under its eventId and
 * a late answer completes the saga; a replica killed with replies unread in its partitions does
 * not make the survivor time those sagas out.
 */
import assert from "node:assert/strict";
import type { Kafka, Producer } from "kafkajs";
import { waitFor } from "../../lib/async/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { partitionOf } from "../../lib/kafka/partitioner.ts";
import { connectProducer, publish } from "../../lib/kafka/producer.ts";
import type { ConsumedRecord } from "../../lib/kafka/records.ts";
import {
  encodeMessage,
  type EventType,
  type OrderCreated,
  type Topic,
  TOPICS,
} from "../../lib/messages/mod.ts";
import { findSaga, readHistory } from "../../lib/orchestrator_store/mod.ts";
import { placeOrder, waitForFinalSaga } from "../../lib/orders/mod.ts";
import { createTestDatabase } from "../../testing/db.ts";
import { testInfra } from "../../testing/infra.ts";
import { deleteNamespaceTopics, readRecords, testNamespace } from "../../testing/kafka.ts";
import { type Stack, startStack } from "../../testing/supervisor.ts";

const PARTITIONS = 3;

interface Orchestrators {
  stack: Stack;
  sql: Sql;
  kafka: Kafka;
  producer: Producer;
  /** The `read_by` of a replica in `orchestrator.reply_partitions`. */
  readerOf(name: string): string;
}

/** Runs `names.length` orchestrator processes (in that order), then `fn`; cleans up after. */
async function withOrchestrators(
  names: readonly string[],
  overrides: Record<string, string>,
  fn: (o: Orchestrators) => Promise<void>,
): Promise<void> {
  const infra = await testInfra();
  const db = await createTestDatabase();
  const namespace = testNamespace("deadlines");
  const logDir = await Deno.makeTempDir({ prefix: "deadlines-" });
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: "test", namespace });
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    KAFKA_BROKERS: infra.kafkaBrokers.join(","),
    KAFKA_NAMESPACE: namespace,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    DATABASE_URL: db.url,
    REDIS_URL: infra.redisUrl,
    SWEEP_INTERVAL: "200ms",
    LOG_LEVEL: "info",
    ...overrides,
  };
  const specs = names.map((name) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = String((listener.addr as Deno.NetAddr).port);
    listener.close();
    return {
      name,
      entry: "services/orchestrator/main.ts",
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      env: { ORCHESTRATOR_PORT: port },
    };
  });
  let stack: Stack | undefined;
  let producer: Producer | undefined;
  try {
    stack = await startStack(specs, { env, logDir, readyTimeoutMs: 120_000 });
    producer = await connectProducer(kafka);
    const started = stack;
    await fn({
      stack: started,
      sql: db.sql,
      kafka,
      producer,
      readerOf: (name) => `${Deno.hostname()}:${started.processes.get(name)!.child.pid}`,
    });
  } catch (error) {
    console.error(`Deadline test failed; orchestrator logs are in ${logDir}`);
    throw error;
  } finally {
    await stack?.stop();
    await producer?.disconnect();
    await db.drop();
    await deleteNamespaceTopics(kafka);
  }
}

function order(orderId = crypto.randomUUID()): OrderCreated {
  return {
    orderId,
    customerId: crypto.randomUUID(),
    customerEmail: "lin@example.com",
    currency: "usd",
    paymentMethod: "pm_card_visa",
    items: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 1_000 }],
  };
}

function metadataOf(
  record: ConsumedRecord,
): { eventType: string; eventId: string; sagaId: string } {
  return JSON.parse(record.headers.metadata!);
}

/** Waits for `count` `eventType` commands about `orderId` on `topic` (from its start). */
function commands(
  kafka: Kafka,
  topic: Topic,
  eventType: EventType,
  orderIds: ReadonlySet<string>,
  count: number,
): Promise<ConsumedRecord[]> {
  return readRecords(kafka, topic, {
    count,
    timeoutMs: 60_000,
    select: (record) =>
      orderIds.has(record.key ?? "") && metadataOf(record).eventType === eventType,
  });
}

/** Produces the participant's reply to `command`, as a participant would. */
async function answer(
  producer: Producer,
  command: ConsumedRecord,
  eventType: EventType,
  body: Record<string, unknown> = {},
): Promise<void> {
  const { eventId, sagaId } = metadataOf(command);
  await publish(producer, [
    encodeMessage({
      eventType,
      body: { orderId: command.key, ...body } as never,
      sagaId,
      causationId: eventId,
    }),
  ]);
}

Deno.test({
  name:
    "the orchestrator re-sends an unanswered command under its eventId, and a late answer completes the saga",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withOrchestrators(["orchestrator"], {
      STEP_TIMEOUT: "1s",
      STEP_GIVE_UP: "2m",
    }, async ({ sql, kafka, producer }) => {
      const placed = order();
      const ids = new Set([placed.orderId]);
      await placeOrder(producer, placed);
      // Inventory is away: RESERVE_INVENTORY goes out again, the same command, the same eventId.
      const sent = await commands(kafka, TOPICS.inventoryCommands, "RESERVE_INVENTORY", ids, 3);
      const eventIds = sent.map((record) => metadataOf(record).eventId);
      assert.equal(new Set(eventIds).size, 1, `one eventId: ${eventIds.join(", ")}`);
      assert.deepEqual(sent.map((r) => r.value), Array(3).fill(sent[0]!.value), "one body");
      // Back: it answers the command (once, as a participant does from its record).
      await answer(producer, sent[0]!, "INVENTORY_RESERVED");
      const [pay] = await commands(kafka, TOPICS.paymentCommands, "PROCESS_PAYMENT", ids, 1);
      await answer(producer, pay!, "PAYMENT_PROCESSED", {
        paymentIntentId: "pi_late",
        amountCents: 1_000,
      });
      const [notify] = await commands(
        kafka,
        TOPICS.notificationCommands,
        "SEND_NOTIFICATION",
        ids,
        1,
      );
      await answer(producer, notify!, "NOTIFICATION_SENT", {
        notificationId: crypto.randomUUID(),
      });
      const saga = await waitForFinalSaga(sql, placed.orderId, { timeoutMs: 60_000 });
      assert.equal(saga.status, "COMPLETED");
      const history = await readHistory(sql, saga.sagaId);
      const resends = history.filter((h) => h.eventType === "DEADLINE_PASSED");
      assert.ok(resends.length >= 2, `re-sent ${resends.length} time(s)`);
      assert.match(resends[0]!.note, /No reply to RESERVE_INVENTORY yet; re-sent \(attempt 2\)/);
      assert.ok(
        history.every((h) => h.toStatus !== "COMPENSATING"),
        "no compensation: " + history.map((h) => h.note).join(" | "),
      );
    });
  },
});

Deno.test({
  name:
    "a replica killed with replies unread in its partitions: the survivor does not time those sagas out",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const stepTimeoutMs = 6_000;
    await withOrchestrators(["survivor", "victim"], {
      STEP_TIMEOUT: `${stepTimeoutMs}ms`,
      // A deadline that passed while the replies were unread would give the step up at once.
      STEP_GIVE_UP: `${stepTimeoutMs}ms`,
    }, async ({ stack, sql, kafka, producer, readerOf }) => {
      // Both replicas read their share of inventory.replies.
      const victim = readerOf("victim");
      const victimPartitions = await waitFor(async () => {
        const rows = await sql<{ partition: number; read_by: string }[]>`
          select partition, read_by from orchestrator.reply_partitions
          where topic = ${TOPICS.inventoryReplies} and read_at > now() - interval '3 seconds'`;
        const readers = new Set(rows.map((row) => row.read_by));
        const mine = rows.filter((row) => row.read_by === victim).map((row) => row.partition);
        return rows.length === PARTITIONS && readers.size === 2 && mine;
      }, { timeoutMs: 60_000, description: "both replicas reading inventory.replies" });
      const placed = Array.from({ length: 3 }, () => {
        for (;;) {
          const candidate = order();
          if (victimPartitions.includes(partitionOf(candidate.orderId, PARTITIONS))) {
            return candidate;
          }
        }
      });
      const ids = new Set(placed.map((o) => o.orderId));
      for (const o of placed) await placeOrder(producer, o);
      await waitFor(async () => {
        const [row] = await sql<{ started: number }[]>`
          select count(*)::int as started from orchestrator.sagas
          where order_id = any(${[...ids]}::uuid[]) and pending_step = 0`;
        return row?.started === ids.size;
      }, { timeoutMs: 30_000, description: "the sagas to send RESERVE_INVENTORY" });
      // The victim dies without leaving its group: its partitions stay its own until its
      // session expires (15 s), and the replies produced meanwhile wait there unread, past the
      // steps' deadlines.
      await stack.kill("victim", "SIGKILL");
      const killedAt = Date.now();
      const reserve = await commands(
        kafka,
        TOPICS.inventoryCommands,
        "RESERVE_INVENTORY",
        ids,
        ids.size,
      );
      for (const command of reserve) await answer(producer, command, "INVENTORY_RESERVED");
      for (const o of placed) {
        const saga = await waitFor(async () => {
          const found = await findSaga(sql, o.orderId);
          if (found === null) return undefined;
          const history = await readHistory(sql, found.sagaId);
          return history.some((h) => h.eventType === "INVENTORY_RESERVED") && history;
        }, { timeoutMs: 90_000, description: `the reservation of ${o.orderId} to be read` });
        const index = saga.findIndex((h) => h.eventType === "INVENTORY_RESERVED");
        const sentAt = saga[0]!.at.getTime();
        assert.ok(
          saga[index]!.at.getTime() > sentAt + stepTimeoutMs,
          "the reply was read only after the step's deadline had passed",
        );
        assert.ok(saga[index]!.at.getTime() > killedAt);
        // Nothing between the command and its reply: no re-send, no give-up, no compensation.
        assert.deepEqual(
          saga.slice(0, index + 1).map((h) => [h.eventType, h.outcome, h.toStatus]),
          [
            ["ORDER_CREATED", "applied", "IN_PROGRESS"],
            ["INVENTORY_RESERVED", "applied", "IN_PROGRESS"],
          ],
          "no deadline passed before the reply was read: " + saga.map((h) => h.note).join(" | "),
        );
      }
      // The survivor reads the victim's partitions now, and says so.
      await waitFor(async () => {
        const [row] = await sql<{ readers: string[] }[]>`
          select array_agg(distinct read_by) as readers from orchestrator.reply_partitions
          where topic = ${TOPICS.inventoryReplies}
            and partition = any(${victimPartitions}::int[])`;
        return row?.readers.length === 1 && row.readers[0] === readerOf("survivor");
      }, { timeoutMs: 30_000, description: "the survivor to record the victim's partitions" });
    });
  },
});
