/**
 * The gateway through the real `stripe` SDK against the in-process Stripe test server: what each
 * Stripe answer becomes. No Kafka or PostgreSQL needed.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { InfrastructureError } from "../../lib/errors/mod.ts";
import {
  type ServedStripeTestServer,
  serveStripeTestServer,
} from "../../testing/stripe_test_server/mod.ts";
import {
  type ChargeRequest,
  createStripeClient,
  createStripeGateway,
  type PaymentGateway,
} from "./stripe_gateway.ts";
import { rejection } from "../../testing/assert.ts";

interface Harness {
  served: ServedStripeTestServer;
  gateway: PaymentGateway;
  registry: Registry;
  /** Moves the test server's clock on: asynchronous outcomes (1 s) due by then are final. */
  advance(ms: number): void;
}

async function withGateway(
  fn: (harness: Harness) => Promise<void>,
  options: { apiKey?: string; timeoutMs?: number } = {},
): Promise<void> {
  let offsetMs = 0;
  await using served = serveStripeTestServer({
    port: 0,
    asyncDelayMs: 1_000,
    now: () => new Date(Date.now() + offsetMs),
  });
  const registry = new Registry();
  const stripe = createStripeClient({
    apiKey: options.apiKey ?? "sk_test_gateway",
    host: served.hostname,
    port: served.port,
    protocol: "http",
    timeoutMs: options.timeoutMs ?? 10_000,
    local: true,
  }, { maxNetworkRetries: 0 });
  await fn({
    served,
    gateway: createStripeGateway(stripe, { metrics: { registry } }),
    registry,
    advance: (ms) => void (offsetMs += ms),
  });
}

function chargeOf(paymentMethod: string, overrides: Partial<ChargeRequest> = {}): ChargeRequest {
  return {
    orderId: crypto.randomUUID(),
    sagaId: crypto.randomUUID(),
    amountCents: 4250,
    currency: "usd",
    paymentMethod,
    idempotencyKey: crypto.randomUUID(),
    ...overrides,
  };
}

async function requests(registry: Registry, operation: string, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric("stripe_requests_total")?.get();
  const value = metric?.values.find((v) =>
    v.labels.operation === operation && v.labels.outcome === outcome
  );
  return value?.value ?? 0;
}

Deno.test("createStripeGateway() charges in one confirmed PaymentIntent with the order in its metadata", async () => {
  await withGateway(async ({ served, gateway, registry }) => {
    const request = chargeOf("pm_card_visa");
    const result = await gateway.charge(request);
    assert.equal(result.outcome, "succeeded");
    const [intent] = served.server.records().paymentIntents;
    assert.equal(result.outcome === "succeeded" && result.paymentIntentId, intent?.id);
    assert.equal(result.outcome === "succeeded" && result.amountCents, 4250);
    assert.deepEqual(intent?.metadata, { orderId: request.orderId, sagaId: request.sagaId });
    assert.deepEqual(intent?.automatic_payment_methods, {
      enabled: true,
      allow_redirects: "never",
    });
    assert.equal(served.server.ledger().orders[request.orderId]?.chargedCents, 4250);
    assert.equal(await requests(registry, "charge", "succeeded"), 1);
    const histogram = await registry.getSingleMetricAsString("stripe_request_duration_seconds");
    assert.match(histogram, /stripe_request_duration_seconds_count\{[^}]*outcome="succeeded"/);
  });
});

Deno.test("createStripeGateway() replays a charge sent again with the same idempotency key", async () => {
  await withGateway(async ({ served, gateway }) => {
    const request = chargeOf("pm_card_visa");
    const first = await gateway.charge(request);
    const second = await gateway.charge(request);
    assert.deepEqual(second, first);
    assert.equal(served.server.ledger().orders[request.orderId]?.charges, 1);
  });
});

Deno.test("createStripeGateway() answers card declines as declined with the decline code", async () => {
  await withGateway(async ({ served, gateway, registry }) => {
    for (
      const [card, code] of [
        ["pm_card_chargeDeclined", "generic_decline"],
        ["pm_card_insufficientFunds", "insufficient_funds"],
        ["pm_card_chargeDeclinedExpiredCard", "expired_card"],
      ]
    ) {
      const result = await gateway.charge(chargeOf(card!));
      assert.equal(result.outcome, "declined", card);
      assert.equal(result.outcome === "declined" && result.code, code);
      assert.match(result.outcome === "declined" ? result.paymentIntentId ?? "" : "", /^pi_/);
    }
    assert.equal(served.server.ledger().totals.charges, 0);
    assert.equal(await requests(registry, "charge", "declined"), 3);
  });
});

Deno.test("createStripeGateway() answers an unknown payment method as failed with Stripe's code", async () => {
  await withGateway(async ({ gateway, registry }) => {
    const result = await gateway.charge(chargeOf("pm_card_doesNotExist"));
    assert.deepEqual(result, {
      outcome: "failed",
      code: "resource_missing",
      reason: "No such PaymentMethod: 'pm_card_doesNotExist'",
      paymentIntentId: null,
    });
    assert.equal(await requests(registry, "charge", "failed"), 1);
  });
});

Deno.test("createStripeGateway() throws InfrastructureError on a Stripe 500, and charges once on retry", async () => {
  await withGateway(async ({ served, gateway, registry }) => {
    served.server.setFault({ mode: "error500", count: 1 });
    const request = chargeOf("pm_card_visa");
    const error = await rejection(gateway.charge(request));
    assert.ok(error instanceof InfrastructureError, String(error));
    assert.match(error.message, /^Cannot charge order ".*" through Stripe: StripeAPIError/);
    assert.equal((await gateway.charge(request)).outcome, "succeeded");
    assert.equal(served.server.ledger().orders[request.orderId]?.charges, 1);
    assert.equal(await requests(registry, "charge", "error"), 1);
  });
});

Deno.test("createStripeGateway() throws InfrastructureError on a timeout; the retry replays the charge", async () => {
  await withGateway(async ({ served, gateway }) => {
    served.server.setFault({ mode: "stall", stallMs: 2_000, count: 1 });
    const request = chargeOf("pm_card_visa");
    const error = await rejection(gateway.charge(request));
    assert.ok(error instanceof InfrastructureError, String(error));
    assert.match(error.message, /StripeConnectionError/);
    assert.equal((await gateway.charge(request)).outcome, "succeeded");
    assert.equal(served.server.ledger().orders[request.orderId]?.charges, 1);
  }, { timeoutMs: 200 });
});

Deno.test("createStripeGateway() throws InfrastructureError when Stripe rejects the API key", async () => {
  await withGateway(async ({ gateway }) => {
    const error = await rejection(gateway.charge(chargeOf("pm_card_visa")));
    assert.ok(error instanceof InfrastructureError, String(error));
    assert.match(error.message, /StripeAuthenticationError/);
  }, { apiKey: "sk_live_not_for_the_test_server" });
});

Deno.test("createStripeGateway() throws InfrastructureError when Stripe cannot be reached", async () => {
  const served = serveStripeTestServer({ port: 0 });
  const port = served.port;
  await served.close();
  const stripe = createStripeClient({
    apiKey: "sk_test_gateway",
    host: "127.0.0.1",
    port,
    protocol: "http",
    timeoutMs: 2_000,
    local: true,
  }, { maxNetworkRetries: 0 });
  const error = await rejection(createStripeGateway(stripe).charge(chargeOf("pm_card_visa")));
  assert.ok(error instanceof InfrastructureError, String(error));
  assert.match(error.message, /StripeConnectionError/);
});

Deno.test("createStripeGateway() refunds a charge in full, and reports a failed refund with its reason", async () => {
  await withGateway(async ({ served, gateway, registry }) => {
    const visa = chargeOf("pm_card_visa");
    const charged = await gateway.charge(visa);
    assert.equal(charged.outcome, "succeeded");
    const refund = await gateway.refund({
      orderId: visa.orderId,
      paymentIntentId: charged.outcome === "succeeded" ? charged.paymentIntentId : "",
      idempotencyKey: crypto.randomUUID(),
    });
    assert.equal(refund.outcome, "succeeded");
    assert.equal(refund.outcome === "succeeded" && refund.amountCents, 4250);
    assert.deepEqual(served.server.ledger().orders[visa.orderId]?.refundedCents, 4250);

    const failing = chargeOf("pm_card_refundFail");
    const failingCharge = await gateway.charge(failing);
    const failed = await gateway.refund({
      orderId: failing.orderId,
      paymentIntentId: failingCharge.outcome === "succeeded" ? failingCharge.paymentIntentId : "",
      idempotencyKey: crypto.randomUUID(),
    });
    assert.equal(failed.outcome, "failed");
    assert.equal(failed.outcome === "failed" && failed.code, "expired_or_canceled_card");
    assert.match(failed.refundId ?? "", /^re_/);
    assert.equal(served.server.ledger().orders[failing.orderId]?.refundedCents, 0);
    assert.equal(await requests(registry, "refund", "succeeded"), 1);
    assert.equal(await requests(registry, "refund", "failed"), 1);
  });
});

Deno.test("createStripeGateway() answers a refund Stripe refuses as failed with Stripe's code", async () => {
  await withGateway(async ({ gateway }) => {
    const result = await gateway.refund({
      orderId: crypto.randomUUID(),
      paymentIntentId: "pi_missing",
      idempotencyKey: crypto.randomUUID(),
    });
    assert.deepEqual(result, {
      outcome: "failed",
      refundId: null,
      code: "resource_missing",
      reason: "No such payment_intent: 'pi_missing'",
    });
  });
});

function intentStatus(served: ServedStripeTestServer, id: string | null) {
  return served.server.records().paymentIntents.find((pi) => pi.id === id)?.status;
}

Deno.test("createStripeGateway() answers a processing PaymentIntent as processing, and followCharge() reads what it came to", async () => {
  await withGateway(async ({ served, gateway, registry, advance }) => {
    const succeeds = chargeOf("pm_processing_succeeds");
    const fails = chargeOf("pm_processing_fails");
    const first = await gateway.charge(succeeds);
    const second = await gateway.charge(fails);
    assert.equal(first.outcome, "processing");
    assert.equal(second.outcome, "processing");
    const follow = (request: ChargeRequest, result: typeof first) =>
      gateway.followCharge({
        orderId: request.orderId,
        paymentIntentId: result.paymentIntentId!,
        idempotencyKey: request.idempotencyKey,
      });
    assert.equal((await follow(succeeds, first)).outcome, "processing", "not final yet");
    advance(1_500);
    assert.deepEqual(await follow(succeeds, first), {
      outcome: "succeeded",
      paymentIntentId: first.paymentIntentId,
      amountCents: 4250,
    });
    const failed = await follow(fails, second);
    assert.equal(failed.outcome, "failed");
    assert.equal(failed.outcome === "failed" && failed.code, "generic_decline");
    assert.equal(intentStatus(served, second.paymentIntentId), "canceled", "cancelled once failed");
    assert.equal(served.server.ledger().orders[fails.orderId]?.chargedCents ?? 0, 0);
    assert.equal(await requests(registry, "charge", "processing"), 2);
    assert.equal(await requests(registry, "follow_charge", "processing"), 1);
  });
});

Deno.test("createStripeGateway() cancels a PaymentIntent that requires authentication, and answers a repeat alike", async () => {
  await withGateway(async ({ served, gateway }) => {
    const request = chargeOf("pm_card_authenticationRequired");
    const result = await gateway.charge(request);
    assert.equal(result.outcome, "failed");
    assert.equal(result.outcome === "failed" && result.code, "authentication_required");
    assert.equal(intentStatus(served, result.paymentIntentId), "canceled");
    // A repeat (a crash after the cancel, say): the charge and the cancel replay their answers.
    assert.deepEqual(await gateway.charge(request), result);
    assert.equal(served.server.records().paymentIntents.length, 1);
    assert.equal(served.server.ledger().orders[request.orderId]?.chargedCents ?? 0, 0);
  });
});

Deno.test("createStripeGateway() answers a pending refund as pending, and followRefund() reads its failure", async () => {
  await withGateway(async ({ gateway, advance }) => {
    const request = chargeOf("pm_card_refundPendingFails");
    const charged = await gateway.charge(request);
    assert.equal(charged.outcome, "succeeded");
    const refund = await gateway.refund({
      orderId: request.orderId,
      paymentIntentId: charged.paymentIntentId!,
      idempotencyKey: crypto.randomUUID(),
    });
    assert.equal(refund.outcome, "pending");
    const refundId = refund.refundId!;
    assert.equal(
      (await gateway.followRefund({ orderId: request.orderId, refundId })).outcome,
      "pending",
    );
    advance(1_500);
    const failed = await gateway.followRefund({ orderId: request.orderId, refundId });
    assert.deepEqual(failed, {
      outcome: "failed",
      refundId,
      code: "declined",
      reason: `Refund ${refundId} ended in status "failed": declined`,
    });
  });
});
