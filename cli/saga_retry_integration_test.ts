/**
 * An operator's retry against a real PostgreSQL: the saga engine alone decides it, through the
 * orchestrator's store; a refused or previewed retry writes nothing.
 */
import assert from "node:assert/strict";
import type { Sql } from "../lib/db/mod.ts";
import type { OrderCreated } from "../lib/messages/mod.ts";
import { ORDER_SAGA } from "../lib/order_saga/mod.ts";
import { insertOrders, insertSagas, readHistory } from "../lib/orchestrator_store/mod.ts";
import { DEFAULT_BACKOFF, newSagaState, type SagaState } from "../lib/saga/mod.ts";
import { withTestDatabase } from "../testing/db.ts";
import { planRetries, retrySaga } from "./saga_retry.ts";

const options = {
  actor: "operator:ada",
  policy: {
    stepTimeoutMs: 30_000,
    stepGiveUpMs: 600_000,
    compensationGiveUpMs: 86_400_000,
    maxCompensationRetries: 3,
    backoff: DEFAULT_BACKOFF,
  },
};

/** A saga in `status`, its refund owed (then the release), as the orchestrator would leave it. */
async function sagaIn(sql: Sql, status: SagaState["status"]): Promise<string> {
  const order: OrderCreated = {
    orderId: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    customerEmail: "ada@example.com",
    currency: "usd",
    paymentMethod: "pm_card_visa",
    items: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 500 }],
  };
  const state: SagaState = {
    ...newSagaState(crypto.randomUUID(), ORDER_SAGA.start.key(order)),
    status,
    completedSteps: 2,
    compensations: [1, 0],
    retryCount: 4,
  };
  await sql.begin(async (tx) => {
    await insertOrders(tx, [order]);
    await insertSagas(tx, [{ type: "order", state, data: ORDER_SAGA.start.data(order) }]);
  });
  return state.sagaId;
}

async function written(sql: Sql, sagaId: string) {
  const [outbox] = await sql<{ n: number }[]>`
    select count(*)::int as n from orchestrator.outbox where headers->>'metadata' like ${`%${sagaId}%`}`;
  return { history: (await readHistory(sql, sagaId)).length, outbox: outbox?.n ?? 0 };
}

Deno.test("retrySaga() sends the owed compensation again as the engine decides, recorded as the operator", async () => {
  await withTestDatabase(async ({ sql }) => {
    const sagaId = await sagaIn(sql, "COMPENSATION_FAILED");
    const retried = await retrySaga(sql, sagaId, options);
    assert.equal(retried.result, "retried");
    assert.equal(retried.toStatus, "COMPENSATING");
    assert.equal(retried.step, "RefundPayment");
    assert.equal(retried.commandType, "REFUND_PAYMENT");
    assert.equal(retried.note, "Operator ada retried the compensation; sent REFUND_PAYMENT");
    const [line] = await readHistory(sql, sagaId);
    assert.deepEqual(
      [line?.fromStatus, line?.toStatus, line?.eventType, line?.actor, line?.outcome],
      ["COMPENSATION_FAILED", "COMPENSATING", "OPERATOR_RETRY", "operator:ada", "applied"],
    );
    assert.deepEqual(await written(sql, sagaId), { history: 1, outbox: 1 });
    const [row] = await sql<{ status: string; retry_count: number }[]>`
      select status, retry_count from orchestrator.sagas where saga_id = ${sagaId}`;
    assert.deepEqual({ ...row }, { status: "COMPENSATING", retry_count: 0 });
  });
});

Deno.test("retrySaga() and planRetries() give the engine's refusal and write nothing", async () => {
  await withTestDatabase(async ({ sql }) => {
    const done = await sagaIn(sql, "COMPENSATED");
    const failed = await sagaIn(sql, "COMPENSATION_FAILED");
    const skipped = await retrySaga(sql, done, options);
    assert.equal(skipped.result, "skipped");
    assert.equal(
      skipped.reason,
      "it is COMPENSATED; only a COMPENSATION_FAILED saga can be retried",
    );
    const plan = await planRetries(sql, [failed, done], options);
    assert.deepEqual(plan.map((p) => [p.sagaId, p.result, p.toStatus, p.step, p.commandId]), [
      [failed, "planned", "COMPENSATING", "RefundPayment", null],
      [done, "skipped", "COMPENSATED", null, null],
    ]);
    assert.deepEqual(await written(sql, done), { history: 0, outbox: 0 });
    assert.deepEqual(
      await written(sql, failed),
      { history: 0, outbox: 0 },
      "a plan writes nothing",
    );
    await assert.rejects(planRetries(sql, [crypto.randomUUID()], options), /it does not exist/);
  });
});
