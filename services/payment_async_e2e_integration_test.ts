/**
 * End to end, Stripe's outcomes that are not final (DESIGN §5), with the services as processes
 * and the Stripe test server's asynchronous payment methods: a `processing` payment on an order
 * the saga compensates ends refunded, one that fails ends with nothing charged, a PaymentIntent
 * that needs 3D Secure is cancelled, and a refund that is `pending` and then fails fails the
 * compensation like any refund failure, retried until `COMPENSATION_FAILED`.
 */
import assert from "node:assert/strict";
import { assertInvariantsHold } from "../testing/invariants.ts";
import { newOrder, placeOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../testing/scenarios.ts";
import { findSaga, readHistory } from "../lib/orchestrator_store/mod.ts";
import { type TestStack, withTestStack } from "../testing/stack.ts";

const ENV = {
  COMPENSATION_RETRY_INITIAL: "200ms",
  SWEEP_INTERVAL: "100ms",
  STEP_TIMEOUT: "45s",
  MAX_COMPENSATION_RETRIES: "2",
  STRIPE_TEST_ASYNC_DELAY: "1s",
  PAYMENT_FOLLOW_INTERVAL: "200ms",
  PAYMENT_FOLLOW_MAX_INTERVAL: "1s",
};

const success = DEMO_SCENARIOS.find((s) => s.name === "success")!.request;

function orderWith(paymentMethod: string, customerEmail: string) {
  return newOrder({ ...success, paymentMethod, customerEmail });
}

/** The test server's PaymentIntents of the order, as its records hold them. */
async function intentsOf(t: TestStack, orderId: string) {
  const records = await (await fetch(`${t.stripeUrl}/_test/records`)).json() as {
    paymentIntents: { id: string; status: string; metadata: Record<string, string> }[];
    refunds: { id: string; status: string; metadata: Record<string, string> }[];
  };
  return records.paymentIntents.filter((pi) => pi.metadata.orderId === orderId);
}

async function refundsOf(t: TestStack, orderId: string) {
  const records = await (await fetch(`${t.stripeUrl}/_test/records`)).json() as {
    refunds: { id: string; status: string; metadata: Record<string, string> }[];
  };
  return records.refunds.filter((r) => r.metadata.orderId === orderId);
}

async function history(t: TestStack, orderId: string) {
  const saga = await findSaga(t.sql, orderId);
  return await readHistory(t.sql, saga!.sagaId);
}

async function timeline(t: TestStack, orderId: string): Promise<string[]> {
  return (await history(t, orderId)).map((h) => h.eventType);
}

Deno.test({
  name:
    "payments whose outcome comes later are followed to the end, with the services as processes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTestStack(ENV, async (t) => {
      const processingRefunded = orderWith("pm_processing_succeeds", "pat@example.invalid");
      const processingFails = orderWith("pm_processing_fails", "quinn@example.com");
      const needsAuthentication = orderWith("pm_card_authenticationRequired", "ray@example.com");
      const refundPendingFails = orderWith("pm_card_refundPendingFails", "sam@example.invalid");
      for (
        const order of [
          processingRefunded,
          processingFails,
          needsAuthentication,
          refundPendingFails,
        ]
      ) {
        await placeOrder(t.producer, order);
      }
      const final = async (orderId: string) =>
        await waitForFinalSaga(t.sql, orderId, { timeoutMs: 90_000 });

      // A processing payment that succeeds later, on an order the saga compensates (the email
      // is undeliverable): charged once it succeeded, then refunded in full.
      const refunded = await final(processingRefunded.orderId);
      assert.equal(refunded.status, "COMPENSATED", refunded.failureReason ?? "");
      assert.equal(refunded.failureCode, "undeliverable_address");
      const ledger = await t.ledger();
      const money = ledger[processingRefunded.orderId];
      assert.ok(money !== undefined && money.chargedCents > 0, "charged once it succeeded");
      assert.equal(money.refundedCents, money.chargedCents, "net 0");
      assert.equal(money.charges, 1);
      assert.deepEqual(
        (await intentsOf(t, processingRefunded.orderId)).map((pi) => pi.status),
        ["succeeded"],
      );
      assert.deepEqual(await timeline(t, processingRefunded.orderId), [
        "ORDER_CREATED",
        "INVENTORY_RESERVED",
        "PAYMENT_PROCESSED",
        "NOTIFICATION_FAILED",
        "PAYMENT_REFUNDED",
        "INVENTORY_RELEASED",
      ]);

      // A processing payment that fails later: the saga compensates, nothing was charged, and
      // the PaymentIntent is cancelled, so it cannot move later.
      const failed = await final(processingFails.orderId);
      assert.equal(failed.status, "COMPENSATED", failed.failureReason ?? "");
      assert.equal(failed.failureCode, "generic_decline");
      assert.equal(ledger[processingFails.orderId]?.chargedCents ?? 0, 0);
      assert.deepEqual(
        (await intentsOf(t, processingFails.orderId)).map((pi) => pi.status),
        ["canceled"],
      );

      // 3D Secure asked for, with no customer session to complete it: cancelled at once.
      const unauthenticated = await final(needsAuthentication.orderId);
      assert.equal(unauthenticated.status, "COMPENSATED", unauthenticated.failureReason ?? "");
      assert.equal(unauthenticated.failureCode, "authentication_required");
      assert.equal(ledger[needsAuthentication.orderId]?.chargedCents ?? 0, 0);
      assert.deepEqual(
        (await intentsOf(t, needsAuthentication.orderId)).map((pi) => pi.status),
        ["canceled"],
      );

      // A refund pending, then failed: the compensation fails as any refund failure does, is
      // retried (a new refund each time, each followed to its end), and gives up.
      const gaveUp = await final(refundPendingFails.orderId);
      assert.equal(gaveUp.status, "COMPENSATION_FAILED", gaveUp.failureReason ?? "");
      const refunds = await refundsOf(t, refundPendingFails.orderId);
      // MAX_COMPENSATION_RETRIES=2: the first refund and 2 retries, each pending, then failed.
      assert.equal(refunds.length, 3, "the compensation was retried");
      assert.deepEqual(new Set(refunds.map((r) => r.status)), new Set(["failed"]));
      const kept = (await t.ledger())[refundPendingFails.orderId];
      assert.equal(kept?.refundedCents, 0, "no refund succeeded");
      const steps = await history(t, refundPendingFails.orderId);
      assert.equal(steps.filter((h) => h.eventType === "REFUND_FAILED").length, 3);
      assert.match(steps.at(-1)?.note ?? "", /failed 3 times \(declined\)/);

      await assertInvariantsHold(t);
    });
  },
});
