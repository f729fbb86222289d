/**
 * End to end with input as other producers really send it (DESIGN §3): records written byte by
 * byte with a Kafka client, not built by the project's encoder — upper-case UUIDs, unknown
 * fields, compression — and records past the contract's limits, against the services as processes.
 */
import assert from "node:assert/strict";
import { CompressionTypes, type IHeaders, type Kafka } from "kafkajs";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { LIMITS, type OrderCreated } from "../lib/messages/mod.ts";
import { findSaga } from "../lib/orchestrator_store/mod.ts";
import { newOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../testing/scenarios.ts";
import { readRecords } from "../testing/kafka.ts";
import { runSagactl } from "../testing/sagactl.ts";
import { type TestStack, withTestStack } from "../testing/stack.ts";

const success = DEMO_SCENARIOS.find((s) => s.name === "success")!;

/** The `metadata` header another producer would write for `order`. */
function metadataFor(order: { orderId: string }, eventId: string = crypto.randomUUID()) {
  return {
    eventType: "ORDER_CREATED",
    eventId,
    orderId: order.orderId,
    timestamp: new Date().toISOString(),
  };
}

/** Produces one record to `orders` as raw bytes, as a client in any language would. */
async function produceRaw(
  t: TestStack,
  record: { key: string; value: string; headers: IHeaders },
  compression = CompressionTypes.None,
): Promise<void> {
  const topic = inNamespace(t.producer, "orders");
  await t.producer.send({ topic, acks: -1, compression, messages: [record] });
}

/** The dead letter of `orders` whose key is `key`. */
async function deadLetterOf(kafka: Kafka, key: string) {
  const [record] = await readRecords(kafka, "orders.dlq", {
    count: 1,
    select: (r) => r.key === key,
    timeoutMs: 30_000,
  });
  return record!;
}

async function orderRows(t: TestStack, orderId: string): Promise<number> {
  const [row] = await t.sql<{ n: number }[]>`
    select count(*)::int as n from orchestrator.orders where order_id = ${orderId}`;
  return row!.n;
}

Deno.test({
  name: "input as real producers send it: canonical ids, limits at the boundary",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(test) {
    await withTestStack({ STEP_TIMEOUT: "45s" }, async (t) => {
      const kafka = createKafka({
        brokers: t.env.KAFKA_BROKERS!.split(","),
        clientId: "real-input-test",
        namespace: t.env.KAFKA_NAMESPACE!,
      });

      await test.step("an order with upper-case ids (macOS uuidgen) completes once, in canonical form", async () => {
        const order = newOrder(success.request);
        const up = (id: string) => id.toUpperCase();
        const upper: OrderCreated = {
          ...order,
          orderId: up(order.orderId),
          customerId: up(order.customerId),
          items: order.items.map((item) => ({ ...item, productId: up(item.productId) })),
        };
        assert.equal(upper.orderId, order.orderId.toUpperCase());
        assert.equal(upper.items[0]!.productId, order.items[0]!.productId.toUpperCase());
        const eventId = crypto.randomUUID();
        // Unknown fields, as a newer storefront would add, and the fields in another order.
        const value = JSON.stringify({
          channel: "ios-app",
          ...upper,
          items: upper.items.reverse(),
        });
        await produceRaw(t, {
          key: upper.orderId,
          value,
          headers: { metadata: JSON.stringify(metadataFor(upper, eventId.toUpperCase())) },
        });
        const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 });
        assert.equal(saga.status, "COMPLETED", saga.failureReason ?? "");
        // The same record again with the id in lower case is the same event: nothing happens twice.
        await produceRaw(t, {
          key: order.orderId,
          value,
          headers: { metadata: JSON.stringify(metadataFor(order, eventId)) },
        });
        const ledger = await t.ledger();
        assert.equal(ledger[order.orderId]?.charges, 1);
        const [row] = await t.sql<{ n: number; ids: string[] }[]>`
          select count(*)::int as n, array_agg(s.saga_id::text) as ids
          from orchestrator.sagas s where s.order_id = ${order.orderId}`;
        assert.equal(row!.n, 1);
        const shown = await runSagactl(t.env, ["saga", "show", upper.orderId, "--json"]);
        assert.equal(shown.code, 0, shown.stderr);
        const json = JSON.parse(shown.stdout);
        assert.equal(json.saga.orderId, order.orderId);
        assert.equal(json.order.customerId, order.customerId);
      });

      await test.step("records past a limit go to orders.dlq at once, naming the limit", async () => {
        const base = newOrder(success.request);
        const line = base.items[0]!;
        const cases: Array<{ what: string; body: unknown; limit: RegExp; gzip?: boolean }> = [
          {
            what: "quantity 100,000,000",
            body: { ...base, items: [{ ...line, quantity: 100_000_000 }] },
            limit: /over the limit of 10000 units per line/,
          },
          {
            what: "a unit price past 2^53",
            body: { ...base, items: [{ ...line, unitPriceCents: 2 ** 60 }] },
            limit: /over the limit of 99999999 cents per unit/,
          },
          {
            what: "an order total over Stripe's maximum charge",
            body: { ...base, items: Array(100).fill({ ...line, quantity: 10_000 }) },
            limit: /order total of \d+ cents is over the limit of 99999999 cents/,
          },
          {
            what: "101 lines",
            body: { ...base, items: Array(101).fill(line) },
            limit: /over the limit of 100 lines per order/,
          },
          {
            // The record of issue 10: 1.7 MB once decompressed, a few kB on the wire.
            what: "20,000 lines, small on the wire with gzip",
            body: { ...base, items: Array(20_000).fill(line) },
            limit: /Record value of \d+ bytes is over the limit of 262144 bytes/,
            gzip: true,
          },
        ];
        for (const c of cases) {
          const orderId = crypto.randomUUID();
          const body = { ...(c.body as object), orderId };
          await produceRaw(
            t,
            {
              key: orderId,
              value: JSON.stringify(body),
              headers: { metadata: JSON.stringify(metadataFor({ orderId })) },
            },
            c.gzip ? CompressionTypes.GZIP : CompressionTypes.None,
          );
          const dead = await deadLetterOf(kafka, orderId);
          const reason = dead.headers["dlq-error"] ?? "";
          assert.match(reason, c.limit, c.what);
          assert.doesNotMatch(
            reason,
            /Failed after \d+ attempts/,
            `${c.what}: dead-lettered at once`,
          );
          assert.equal(dead.headers["dlq-source-topic"], "orders");
          assert.equal(
            dead.value,
            JSON.stringify(body),
            `${c.what}: the dead letter keeps it whole`,
          );
          assert.equal(await orderRows(t, orderId), 0, `${c.what}: no order row`);
        }
      });

      await test.step("an order at the largest total completes and sagactl shows it", async () => {
        const productId = crypto.randomUUID();
        await t.sql`insert into inventory.products
          (product_id, sku, name, price_cents, available, total_stock)
          values (${productId}, ${`MAX-${productId.slice(0, 8)}`}, 'The most expensive thing',
            ${LIMITS.unitPriceCents.max}, 5, 5)`;
        const order = newOrder({
          ...success.request,
          items: [{ productId, quantity: 1, unitPriceCents: LIMITS.unitPriceCents.max }],
        });
        await produceRaw(t, {
          key: order.orderId,
          value: JSON.stringify(order),
          headers: { metadata: JSON.stringify(metadataFor(order)) },
        });
        const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 });
        assert.equal(saga.status, "COMPLETED", saga.failureReason ?? "");
        assert.equal((await t.ledger())[order.orderId]?.chargedCents, LIMITS.orderTotalCents);
        const shown = await runSagactl(t.env, ["saga", "show", order.orderId, "--json"]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.equal(JSON.parse(shown.stdout).order.totalCents, LIMITS.orderTotalCents);
        assert.ok(await findSaga(t.sql, order.orderId));
      });
    });
  },
});
