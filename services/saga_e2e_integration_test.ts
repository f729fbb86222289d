/**
 * End to end: the four services and the Stripe test server as separate processes, driven
 * through Kafka only, checked against PostgreSQL and the Stripe test server's own ledger.
 */
import assert from "node:assert/strict";
import { waitFor } from "../lib/async/mod.ts";
import { DEMO_CATALOG } from "../lib/catalog/mod.ts";
import { publish } from "../lib/kafka/producer.ts";
import { encodeMessage } from "../lib/messages/mod.ts";
import { newOrder, placeOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../testing/scenarios.ts";
import { findSaga, readHistory } from "../lib/orchestrator_store/mod.ts";
import { produceWithConsoleProducer } from "../testing/console_producer.ts";
import { assertInvariantsHold } from "../testing/invariants.ts";
import { withTestStack } from "../testing/stack.ts";

const FAST_POLICY = {
  COMPENSATION_RETRY_INITIAL: "200ms",
  SWEEP_INTERVAL: "100ms",
  STEP_TIMEOUT: "45s",
};
const scenario = (name: string) => DEMO_SCENARIOS.find((s) => s.name === name)!;

Deno.test({
  name: "the saga end to end, with the services as processes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(test) {
    await withTestStack(FAST_POLICY, async (t) => {
      await test.step("each demo order reaches its outcome and the invariants hold", async () => {
        const placed = DEMO_SCENARIOS.map((s) => ({ scenario: s, order: newOrder(s.request) }));
        for (const { order } of placed) await placeOrder(t.producer, order);
        for (const { scenario, order } of placed) {
          const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 });
          assert.equal(saga.status, scenario.expected, `${scenario.name}: ${saga.failureReason}`);
        }
        const success = placed[0]!.order;
        const saga = await findSaga(t.sql, success.orderId);
        const timeline = (await readHistory(t.sql, saga!.sagaId)).map((h) => h.eventType);
        assert.deepEqual(timeline, [
          "ORDER_CREATED",
          "INVENTORY_RESERVED",
          "PAYMENT_PROCESSED",
          "NOTIFICATION_SENT",
        ]);
        const ledger = await t.ledger();
        assert.equal(ledger[success.orderId]?.chargedCents, 2 * 1_299 + 3_999);
        const refundFails = placed.find((p) => p.scenario.name === "refund fails")!.order;
        assert.equal(ledger[refundFails.orderId]?.refundedCents, 0, "the refund never succeeded");
        await assertInvariantsHold(t);
      });

      await test.step("a duplicate ORDER_CREATED starts one saga and charges once", async () => {
        const order = newOrder(scenario("success").request);
        const record = encodeMessage({ eventType: "ORDER_CREATED", body: order });
        await publish(t.producer, [record, record]);
        await placeOrder(t.producer, order); // the same order again, under a new eventId
        assert.equal((await waitForFinalSaga(t.sql, order.orderId)).status, "COMPLETED");
        const [{ sagas }] = await t.sql`
          select count(*)::int as sagas from orchestrator.sagas where order_id = ${order.orderId}` as unknown as [
          { sagas: number },
        ];
        assert.equal(sagas, 1);
        assert.equal((await t.ledger())[order.orderId]?.charges, 1);
      });

      await test.step("an order below the catalog price ends FAILED (price_mismatch), charges nothing and holds no stock", async () => {
        const book = DEMO_CATALOG.find((p) => p.sku === "BOOK-SAGAS")!;
        assert.ok(book.priceCents > 1, "the catalog prices the book above 1 cent");
        const stockOf = async () => {
          const [row] = await t.sql<{ available: number; total_stock: number }[]>`
            select available, total_stock from inventory.products
            where product_id = ${book.productId}`;
          return { ...row };
        };
        const before = await stockOf();
        const order = newOrder({
          ...scenario("success").request,
          items: [{ productId: book.productId, quantity: 1, unitPriceCents: 1 }],
        });
        await placeOrder(t.producer, order); // a kafkajs producer, as any storefront's
        const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 });
        assert.equal(saga.status, "FAILED", saga.failureReason ?? "");
        assert.equal(saga.failureCode, "price_mismatch");
        assert.match(
          saga.failureReason ?? "",
          /BOOK-SAGAS .* 1 cent a unit, the catalog price is 3999 cents/,
        );
        assert.equal((await t.ledger())[order.orderId]?.charges ?? 0, 0, "nothing charged");
        const [{ payments }] = await t.sql`
          select count(*)::int as payments from payment.payments
          where order_id = ${order.orderId}` as unknown as [{ payments: number }];
        assert.equal(payments, 0, "no payment attempted");
        assert.deepEqual(await stockOf(), before, "stock unchanged");
        await assertInvariantsHold(t);
      });

      await test.step("an orchestrator killed with SIGKILL mid-saga finishes the saga after restart", async () => {
        // Hold the next Stripe answer, so the saga is waiting on the payment when the kill lands.
        await fetch(`${t.stripeUrl}/_test/faults`, {
          method: "POST",
          body: JSON.stringify({ mode: "stall", stallMs: 3_000, count: 1 }),
        }).then((r) => r.body?.cancel());
        const order = newOrder(scenario("success").request);
        await placeOrder(t.producer, order);
        await waitFor(async () => {
          const [row] = await t
            .sql`select completed_steps from orchestrator.sagas where order_id = ${order.orderId}`;
          return row?.completed_steps === 1;
        }, { timeoutMs: 20_000, description: "the saga to wait on its payment" });
        const status = await t.stack.kill("orchestrator", "SIGKILL");
        assert.equal(status.signal, "SIGKILL");
        await t.stack.restart("orchestrator");
        assert.equal(
          (await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 })).status,
          "COMPLETED",
        );
        await assertInvariantsHold(t);
      });

      await test.step("ORDER_CREATED records from Kafka's Java console producer, plain and compressed with zstd and snappy, complete their sagas", async () => {
        const orders = [];
        for (const compression of ["none", "zstd", "snappy"] as const) {
          const order = newOrder(scenario("success").request);
          const metadata = {
            eventType: "ORDER_CREATED",
            eventId: crypto.randomUUID(),
            orderId: order.orderId,
            timestamp: new Date().toISOString(),
          };
          await produceWithConsoleProducer({
            brokers: t.env.KAFKA_BROKERS!.split(","),
            topic: `${t.env.KAFKA_NAMESPACE}.orders`,
            records: [{
              key: order.orderId,
              value: JSON.stringify(order),
              headers: { metadata: JSON.stringify(metadata) },
            }],
            compression,
          });
          orders.push({ compression, order });
        }
        for (const { compression, order } of orders) {
          const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 30_000 });
          assert.equal(saga.status, "COMPLETED", `${compression}: ${saga.failureReason}`);
        }
      });
    });
  },
});
