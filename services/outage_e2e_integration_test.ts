/**
 * End to end through an outage of minutes (DESIGN §4, "Unanswered is not failed"): Stripe answers
 * every call with a 500 for three minutes while sagas are in flight — charges blocked, refunds
 * queued behind them — and the notification service is down when it begins. Once it is over,
 * every saga ends where it would have without the outage, with no operator, and the money is
 * right.
 */
import assert from "node:assert/strict";
import { sleep, waitFor } from "../lib/async/mod.ts";
import type { OrderCreated } from "../lib/messages/mod.ts";
import { newOrder, placeOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS, type OrderScenario } from "../testing/scenarios.ts";
import { readHistory } from "../lib/orchestrator_store/mod.ts";
import { assertInvariantsHold } from "../testing/invariants.ts";
import { type TestStack, withTestStack } from "../testing/stack.ts";

const OUTAGE_MS = 3 * 60_000;
/** Short deadlines, so that the outage spans many of them; the give-up horizon stays 10 min. */
const POLICY = {
  STEP_TIMEOUT: "5s",
  SWEEP_INTERVAL: "200ms",
  COMPENSATION_RETRY_INITIAL: "500ms",
  MAX_COMPENSATION_RETRIES: "3",
};

const scenario = (name: string) => DEMO_SCENARIOS.find((s) => s.name === name)!;

interface Placed {
  scenario: OrderScenario;
  order: OrderCreated;
}

async function place(t: TestStack, name: string, count: number): Promise<Placed[]> {
  const placed = Array.from({ length: count }, () => ({
    scenario: scenario(name),
    order: newOrder(scenario(name).request),
  }));
  for (const { order } of placed) await placeOrder(t.producer, order);
  return placed;
}

async function stripeFault(t: TestStack, mode: "error500" | "ok"): Promise<void> {
  const response = await fetch(`${t.stripeUrl}/_test/faults`, {
    method: "POST",
    body: JSON.stringify({ mode }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function completedSteps(t: TestStack, orders: readonly Placed[]): Promise<number[]> {
  const rows = await t.sql<{ completed_steps: number }[]>`
    select completed_steps from orchestrator.sagas
    where order_id = any(${orders.map((p) => p.order.orderId)}::uuid[])`;
  return rows.map((row) => row.completed_steps);
}

Deno.test({
  name: "a Stripe outage of three minutes ends with every saga where it belongs, no operator",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTestStack(POLICY, async (t) => {
      // Notification down: the first orders are charged, then wait on their confirmation.
      await t.stack.kill("notification");
      const charged = [
        ...await place(t, "undeliverable email", 4),
        ...await place(t, "success", 4),
      ];
      await waitFor(async () => {
        const steps = await completedSteps(t, charged);
        return steps.length === charged.length && steps.every((n) => n === 2);
      }, { timeoutMs: 60_000, description: "the first orders to be charged" });

      // Stripe down; notification back: the undeliverable orders' refunds go to a payment
      // service that cannot reach Stripe, queued behind the new orders' blocked charges.
      await stripeFault(t, "error500");
      const outageEnds = Date.now() + OUTAGE_MS;
      await t.stack.restart("notification");
      const blocked = [...await place(t, "success", 4), ...await place(t, "declined card", 3)];
      // The outage outlasts the step deadlines: commands are re-sent, nothing is given up.
      await waitFor(async () => {
        const [row] = await t.sql<{ n: number }[]>`
          select count(*)::int as n from orchestrator.saga_history
          where event_type = 'DEADLINE_PASSED' and step = 'RefundPayment'`;
        return row!.n > 0;
      }, { timeoutMs: OUTAGE_MS / 2, description: "a refund to be re-sent during the outage" });
      await sleep(Math.max(0, outageEnds - Date.now()));
      const [during] = await t.sql<{ n: number }[]>`
        select count(*)::int as n from orchestrator.sagas
        where status in ('COMPENSATION_FAILED', 'FAILED', 'COMPLETED')
          and order_id = any(${blocked.map((p) => p.order.orderId)}::uuid[])`;
      assert.equal(during!.n, 0, "no saga blocked on Stripe ended during the outage");
      await stripeFault(t, "ok");

      for (const { scenario, order } of [...charged, ...blocked]) {
        const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 180_000 });
        assert.equal(saga.status, scenario.expected, `${scenario.name}: ${saga.failureReason}`);
        const history = await readHistory(t.sql, saga.sagaId);
        assert.ok(
          history.every((line) => !line.actor.startsWith("operator")),
          "no operator was needed",
        );
        if (scenario.name === "undeliverable email") {
          assert.ok(
            history.some((line) => line.eventType === "DEADLINE_PASSED"),
            "the refund was re-sent while Stripe was down",
          );
          assert.ok(
            history.every((line) => line.eventType !== "REFUND_FAILED"),
            "an unanswered refund is not a failed one",
          );
        }
      }
      const ledger = await t.ledger();
      for (const { scenario, order } of [...charged, ...blocked]) {
        const money = ledger[order.orderId] ?? { chargedCents: 0, refundedCents: 0, charges: 0 };
        const net = money.chargedCents - money.refundedCents;
        if (scenario.expected === "COMPLETED") assert.ok(net > 0, `${scenario.name} is paid`);
        else assert.equal(net, 0, `${scenario.name}: charged ${net} net`);
        assert.ok(money.charges <= 1, `${scenario.name}: charged ${money.charges} times`);
      }
      await assertInvariantsHold(t);
    });
  },
});
