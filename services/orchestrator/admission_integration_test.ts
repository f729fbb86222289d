/** Admission control against a real PostgreSQL and a real Kafka consumer. */
import assert from "node:assert/strict";
import { waitFor } from "../../lib/async/mod.ts";
import { startConsumer } from "../../lib/kafka/consumer.ts";
import { connectProducer } from "../../lib/kafka/producer.ts";
import { createLogger } from "../../lib/log/mod.ts";
import type { OrderCreated } from "../../lib/messages/mod.ts";
import { ORDER_SAGA } from "../../lib/order_saga/mod.ts";
import { countOpenSagas, insertOrders, insertSagas } from "../../lib/orchestrator_store/mod.ts";
import { newSagaState } from "../../lib/saga/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { createTestTopics, deleteTestTopics, testKafka } from "../../testing/kafka.ts";
import { startAdmissionControl } from "./admission.ts";

const log = createLogger("test", { level: "error" });

function order(): OrderCreated {
  return {
    orderId: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    customerEmail: "ada@example.com",
    currency: "eur",
    paymentMethod: "pm_card_visa",
    items: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 100 }],
  };
}

Deno.test("admission control holds new orders in Kafka while too many sagas are in progress", async () => {
  await withTestDatabase(async ({ sql }) => {
    const orders = [order(), order(), order()];
    const sagas = orders.map((o) => ({
      type: ORDER_SAGA.name,
      state: newSagaState(crypto.randomUUID(), ORDER_SAGA.start.key(o)),
      data: ORDER_SAGA.start.data(o),
    }));
    const states = sagas.map((saga) => saga.state);
    await sql.begin(async (tx) => {
      await insertOrders(tx, orders);
      await insertSagas(tx, sagas);
    });
    await sql`update orchestrator.sagas set status = 'COMPLETED' where saga_id = ${
      states[2]!.sagaId
    }`;
    assert.equal(await countOpenSagas(sql), 2);

    const kafka = await testKafka("admission-test");
    const [topic] = await createTestTopics(kafka, ["orders"]);
    const producer = await connectProducer(kafka);
    const handled: string[] = [];
    const consumer = await startConsumer(kafka, {
      groupId: `admission-${crypto.randomUUID()}`,
      topics: [topic!],
      producer,
      log,
      handler: (records) =>
        Promise.resolve(void handled.push(...records.map((r) => r.value ?? ""))),
    });
    const admission = startAdmissionControl({
      sql,
      log,
      limit: 2,
      intervalMs: 50,
      consumer,
      topic: topic!,
    });
    try {
      await consumer.ready;
      await new Promise((resolve) => setTimeout(resolve, 200)); // a few counts: paused by now
      await producer.send({ topic: topic!, messages: [{ value: "new order" }] });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(handled, [], "held while 2 sagas are in progress, the limit");
      await sql`update orchestrator.sagas set status = 'COMPENSATED'
        where saga_id = ${states[0]!.sagaId}`;
      await waitFor(() => handled.length === 1, { description: "the order read once below" });
      assert.deepEqual(handled, ["new order"]);
    } finally {
      await admission.stop();
      await consumer.stop();
      await producer.disconnect();
      await deleteTestTopics(kafka, [topic!]);
    }
  });
});
