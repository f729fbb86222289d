/**
 * Drives the served test server with the real `stripe` SDK, configured the way the payment
 * service configures it (host/port/protocol, no SDK retries).
 */
import assert from "node:assert/strict";
import Stripe from "stripe";
import { type ServedStripeTestServer, serveStripeTestServer } from "./serve.ts";
import { rejection } from "../assert.ts";

const CARD_ONLY = { payment_method_types: ["card"] };
const NO_REDIRECTS = { automatic_payment_methods: { enabled: true, allow_redirects: "never" } };

interface Harness {
  served: ServedStripeTestServer;
  stripe: Stripe;
}

function sdkFor(served: ServedStripeTestServer, key = "sk_test_stripe_test_server"): Stripe {
  return new Stripe(key, {
    host: served.hostname,
    port: served.port,
    protocol: "http",
    maxNetworkRetries: 0,
  });
}

async function withServer(run: (harness: Harness) => Promise<void>): Promise<void> {
  await using served = serveStripeTestServer();
  await run({ served, stripe: sdkFor(served) });
}

/**
 * Reads a header of an SDK result. Under Deno the SDK uses fetch, and `lastResponse.headers` is
 * then a `Headers` object although the SDK types it as a plain record.
 */
function responseHeader(result: Stripe.Response<unknown>, name: string): string | undefined {
  const headers: unknown = result.lastResponse.headers;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  return (headers as Record<string, string>)[name];
}

function charge(
  stripe: Stripe,
  paymentMethod: string,
  orderId: string,
  options: { amount?: number; idempotencyKey?: string } = {},
): Promise<Stripe.Response<Stripe.PaymentIntent>> {
  return stripe.paymentIntents.create(
    {
      amount: options.amount ?? 1999,
      currency: "usd",
      payment_method: paymentMethod,
      confirm: true,
      metadata: { orderId },
      ...NO_REDIRECTS,
    },
    options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey },
  );
}

Deno.test("serveStripeTestServer() charges pm_card_visa through the real SDK", async () => {
  await withServer(async ({ served, stripe }) => {
    const intent = await charge(stripe, "pm_card_visa", "order-1", { amount: 4250 });
    assert.match(intent.id, /^pi_\w{24}$/);
    assert.equal(intent.object, "payment_intent");
    assert.equal(intent.status, "succeeded");
    assert.equal(intent.amount, 4250);
    assert.equal(intent.amount_received, 4250);
    assert.equal(intent.currency, "usd");
    assert.deepEqual(intent.metadata, { orderId: "order-1" });
    assert.deepEqual(intent.automatic_payment_methods, { allow_redirects: "never", enabled: true });
    assert.equal(typeof intent.latest_charge, "string");
    assert.match(intent.latest_charge as string, /^ch_\w{24}$/);
    assert.match(intent.lastResponse.requestId, /^req_\w{14}$/);
    assert.equal(intent.lastResponse.apiVersion, "2026-10-28.endive");

    const again = await stripe.paymentIntents.retrieve(intent.id, { expand: ["latest_charge"] });
    const latest = again.latest_charge as Stripe.Charge;
    assert.equal(latest.id, intent.latest_charge);
    assert.equal(latest.status, "succeeded");
    assert.equal(latest.paid, true);
    assert.equal(latest.amount_captured, 4250);
    assert.equal(latest.payment_intent, intent.id);
    assert.equal(latest.payment_method_details?.card?.last4, "4242");
    assert.equal(served.server.records().paymentIntents.length, 1);
  });
});

Deno.test("serveStripeTestServer() accepts payment_method_types instead of automatic methods", async () => {
  await withServer(async ({ stripe }) => {
    const intent = await stripe.paymentIntents.create({
      amount: 500,
      currency: "EUR",
      payment_method: "pm_card_mastercard",
      confirm: true,
      ...CARD_ONLY,
    });
    assert.equal(intent.status, "succeeded");
    assert.equal(intent.currency, "eur");
    assert.equal(intent.automatic_payment_methods, null);
    assert.deepEqual(intent.payment_method_types, ["card"]);
  });
});

const declines = [
  { paymentMethod: "pm_card_chargeDeclined", declineCode: "generic_decline" },
  { paymentMethod: "pm_card_insufficientFunds", declineCode: "insufficient_funds" },
];

for (const { paymentMethod, declineCode } of declines) {
  Deno.test(`serveStripeTestServer() declines ${paymentMethod} with a StripeCardError`, async () => {
    await withServer(async ({ served, stripe }) => {
      const error = await rejection(charge(stripe, paymentMethod, "order-declined"));
      assert.ok(error instanceof Stripe.errors.StripeCardError, String(error));
      assert.equal(error.type, "StripeCardError");
      assert.equal(error.rawType, "card_error");
      assert.equal(error.statusCode, 402);
      assert.equal(error.code, "card_declined");
      assert.equal(error.decline_code, declineCode);
      assert.match(error.charge ?? "", /^ch_/);
      assert.equal(error.payment_intent?.status, "requires_payment_method");
      assert.equal(error.payment_intent?.last_payment_error?.decline_code, declineCode);
      assert.match(error.requestId ?? "", /^req_/);

      const intentId = error.payment_intent?.id as string;
      const stored = await stripe.paymentIntents.retrieve(intentId);
      assert.equal(stored.status, "requires_payment_method");
      assert.deepEqual(served.server.ledger().totals, {
        chargedCents: 0,
        refundedCents: 0,
        charges: 0,
        refunds: 0,
      });
    });
  });
}

Deno.test("serveStripeTestServer() rejects an unknown payment method as resource_missing", async () => {
  await withServer(async ({ served, stripe }) => {
    const error = await rejection(charge(stripe, "pm_card_doesNotExist", "order-x"));
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
    assert.equal(error.statusCode, 400);
    assert.equal(error.code, "resource_missing");
    assert.equal(error.param, "payment_method");
    assert.equal(served.server.records().paymentIntents.length, 0);
  });
});

Deno.test("serveStripeTestServer() validates amount and currency like Stripe", async () => {
  await withServer(async ({ stripe }) => {
    const base = { payment_method: "pm_card_visa", confirm: true, ...CARD_ONLY };
    const bad = [
      { params: { ...base, amount: 0, currency: "usd" }, param: "amount" },
      { params: { ...base, amount: 12.5, currency: "usd" }, param: "amount" },
      { params: { ...base, amount: 100, currency: "us" }, param: "currency" },
      { params: { ...base, amount: 100, currency: "" }, param: "currency" },
    ];
    for (const { params, param } of bad) {
      const error = await rejection(stripe.paymentIntents.create(params));
      assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
      assert.equal(error.param, param, JSON.stringify(params));
    }
  });
});

Deno.test("serveStripeTestServer() demands return_url when redirects are allowed, like Stripe", async () => {
  await withServer(async ({ stripe }) => {
    const error = await rejection(stripe.paymentIntents.create({
      amount: 100,
      currency: "usd",
      payment_method: "pm_card_visa",
      confirm: true,
    }));
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
    assert.match(error.message, /allow_redirects/);
  });
});

Deno.test("serveStripeTestServer() replays a repeated Idempotency-Key without charging twice", async () => {
  await withServer(async ({ served, stripe }) => {
    const first = await charge(stripe, "pm_card_visa", "order-idem", { idempotencyKey: "evt-1" });
    const second = await charge(stripe, "pm_card_visa", "order-idem", { idempotencyKey: "evt-1" });
    assert.equal(second.id, first.id);
    assert.equal(second.latest_charge, first.latest_charge);
    assert.equal(responseHeader(second, "idempotent-replayed"), "true");
    assert.equal(responseHeader(second, "original-request"), first.lastResponse.requestId);
    assert.equal(responseHeader(first, "idempotent-replayed"), undefined);
    assert.deepEqual(served.server.ledger().orders["order-idem"], {
      orderId: "order-idem",
      chargedCents: 1999,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
  });
});

Deno.test("serveStripeTestServer() replays a card decline for a repeated Idempotency-Key", async () => {
  await withServer(async ({ served, stripe }) => {
    const options = { idempotencyKey: "evt-declined" };
    const first = await rejection(charge(stripe, "pm_card_chargeDeclined", "order-d", options));
    const second = await rejection(charge(stripe, "pm_card_chargeDeclined", "order-d", options));
    assert.ok(first instanceof Stripe.errors.StripeCardError);
    assert.ok(second instanceof Stripe.errors.StripeCardError);
    assert.equal(second.payment_intent?.id, first.payment_intent?.id);
    assert.equal(second.headers?.["idempotent-replayed"], "true");
    assert.equal(served.server.records().charges.length, 1);
  });
});

Deno.test("serveStripeTestServer() answers idempotency_error when a key is reused differently", async () => {
  await withServer(async ({ stripe }) => {
    await charge(stripe, "pm_card_visa", "order-a", { idempotencyKey: "evt-2", amount: 1000 });
    const error = await rejection(
      charge(stripe, "pm_card_visa", "order-a", { idempotencyKey: "evt-2", amount: 2000 }),
    );
    assert.ok(error instanceof Stripe.errors.StripeIdempotencyError, String(error));
    assert.equal(error.rawType, "idempotency_error");
    assert.equal(error.statusCode, 400);

    const otherEndpoint = await rejection(
      stripe.refunds.create({ payment_intent: "pi_x" }, { idempotencyKey: "evt-2" }),
    );
    assert.ok(otherEndpoint instanceof Stripe.errors.StripeIdempotencyError);
    assert.match(otherEndpoint.message, /same endpoint/);
  });
});

Deno.test("serveStripeTestServer() refunds partially, then the rest, then refuses", async () => {
  await withServer(async ({ served, stripe }) => {
    const intent = await charge(stripe, "pm_card_visa", "order-r", { amount: 3000 });
    const partial = await stripe.refunds.create({
      payment_intent: intent.id,
      amount: 1000,
      metadata: { reason: "one item" },
    });
    assert.match(partial.id, /^re_\w{24}$/);
    assert.equal(partial.object, "refund");
    assert.equal(partial.status, "succeeded");
    assert.equal(partial.amount, 1000);
    assert.equal(partial.charge, intent.latest_charge);
    assert.equal(partial.payment_intent, intent.id);
    assert.deepEqual(partial.metadata, { reason: "one item" });

    const tooMuch = await rejection(
      stripe.refunds.create({ charge: intent.latest_charge as string, amount: 2001 }),
    );
    assert.ok(tooMuch instanceof Stripe.errors.StripeInvalidRequestError, String(tooMuch));
    assert.equal(tooMuch.param, "amount");
    assert.match(tooMuch.message, /greater than unrefunded amount/);

    const rest = await stripe.refunds.create({ charge: intent.latest_charge as string });
    assert.equal(rest.amount, 2000);
    assert.equal((await stripe.refunds.retrieve(rest.id)).status, "succeeded");

    const again = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    assert.ok(again instanceof Stripe.errors.StripeInvalidRequestError, String(again));
    assert.equal(again.code, "charge_already_refunded");

    const latest = await stripe.charges.retrieve(intent.latest_charge as string);
    assert.equal(latest.amount_refunded, 3000);
    assert.equal(latest.refunded, true);
    assert.deepEqual(served.server.ledger().orders["order-r"], {
      orderId: "order-r",
      chargedCents: 3000,
      refundedCents: 3000,
      charges: 1,
      refunds: 2,
    });
  });
});

Deno.test("serveStripeTestServer() returns a failed refund for pm_card_refundFail", async () => {
  await withServer(async ({ served, stripe }) => {
    const intent = await charge(stripe, "pm_card_refundFail", "order-rf", { amount: 1500 });
    assert.equal(intent.status, "succeeded");
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(refund.status, "failed");
    assert.equal(refund.failure_reason, "expired_or_canceled_card");
    assert.equal(refund.amount, 1500);
    assert.equal((await stripe.refunds.retrieve(refund.id)).status, "failed");
    const latest = await stripe.charges.retrieve(intent.latest_charge as string);
    assert.equal(latest.amount_refunded, 0);
    assert.deepEqual(served.server.ledger().orders["order-rf"], {
      orderId: "order-rf",
      chargedCents: 1500,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
  });
});

Deno.test("serveStripeTestServer() rejects a refund of an unknown PaymentIntent", async () => {
  await withServer(async ({ stripe }) => {
    const error = await rejection(stripe.refunds.create({ payment_intent: "pi_missing" }));
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
    assert.equal(error.code, "resource_missing");
    assert.equal(error.param, "payment_intent");
  });
});

Deno.test("serveStripeTestServer() answers 404 resource_missing for an unknown id", async () => {
  await withServer(async ({ stripe }) => {
    const error = await rejection(stripe.paymentIntents.retrieve("pi_missing"));
    assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
    assert.equal(error.statusCode, 404);
    assert.equal(error.code, "resource_missing");
    assert.equal(error.message, "No such payment_intent: 'pi_missing'");
  });
});

Deno.test("serveStripeTestServer() lists PaymentIntents newest first with limit", async () => {
  await withServer(async ({ stripe }) => {
    const ids = [];
    for (const orderId of ["l1", "l2", "l3"]) {
      ids.push((await charge(stripe, "pm_card_visa", orderId)).id);
    }
    const page = await stripe.paymentIntents.list({ limit: 2 });
    assert.deepEqual(page.data.map((intent) => intent.id), [ids[2], ids[1]]);
    assert.equal(page.has_more, true);
    const all = [];
    for await (const intent of stripe.paymentIntents.list({ limit: 1 })) all.push(intent.id);
    assert.deepEqual(all, [...ids].reverse());
  });
});

Deno.test("serveStripeTestServer() answers StripeAPIError while an error500 fault lasts", async () => {
  await withServer(async ({ served, stripe }) => {
    served.server.setFault({ mode: "error500", count: 1 });
    const error = await rejection(
      charge(stripe, "pm_card_visa", "order-500", { idempotencyKey: "evt-500" }),
    );
    assert.ok(error instanceof Stripe.errors.StripeAPIError, String(error));
    assert.equal(error.statusCode, 500);
    assert.equal(error.rawType, "api_error");
    assert.equal(served.server.records().paymentIntents.length, 0);
    assert.equal(served.server.fault().mode, "ok");

    // The fault hit before the API ran, so a retry with the same key charges once.
    const retried = await charge(stripe, "pm_card_visa", "order-500", {
      idempotencyKey: "evt-500",
    });
    assert.equal(retried.status, "succeeded");
    assert.equal(responseHeader(retried, "idempotent-replayed"), undefined);
  });
});

Deno.test("serveStripeTestServer() takes error500 faults from POST /_test/faults until reset", async () => {
  await withServer(async ({ served, stripe }) => {
    const set = await fetch(`${served.url}/_test/faults`, {
      method: "POST",
      body: JSON.stringify({ mode: "error500" }),
    });
    assert.equal(set.status, 200);
    assert.deepEqual(await set.json(), { mode: "error500", stallMs: 1000, remaining: null });
    for (let i = 0; i < 3; i++) {
      const error = await rejection(stripe.paymentIntents.list());
      assert.ok(error instanceof Stripe.errors.StripeAPIError, String(error));
    }
    const reset = await fetch(`${served.url}/_test/reset`, { method: "POST" });
    assert.equal((await reset.json()).mode, "ok");
    assert.equal((await stripe.paymentIntents.list()).object, "list");
  });
});

Deno.test("serveStripeTestServer() holds responses back for stallMs under a stall fault", async () => {
  await withServer(async ({ served, stripe }) => {
    const stallMs = 300;
    served.server.setFault({ mode: "stall", stallMs, count: 1 });
    const started = performance.now();
    const intent = await charge(stripe, "pm_card_visa", "order-stall");
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= stallMs, `took ${elapsed} ms, expected at least ${stallMs} ms`);
    assert.equal(intent.status, "succeeded");
    assert.equal(served.server.fault().mode, "ok");
  });
});

Deno.test("serveStripeTestServer() lets a timed-out stalled charge be replayed by its key", async () => {
  await withServer(async ({ served }) => {
    const impatient = new Stripe("sk_test_impatient", {
      host: served.hostname,
      port: served.port,
      protocol: "http",
      maxNetworkRetries: 0,
      timeout: 100,
    });
    served.server.setFault({ mode: "stall", stallMs: 2000, count: 1 });
    const error = await rejection(
      charge(impatient, "pm_card_visa", "order-lost", { idempotencyKey: "evt-lost" }),
    );
    assert.ok(error instanceof Stripe.errors.StripeConnectionError, String(error));
    // The charge happened although the caller saw a timeout; its retry gets the same intent.
    const retried = await charge(sdkFor(served), "pm_card_visa", "order-lost", {
      idempotencyKey: "evt-lost",
    });
    assert.equal(responseHeader(retried, "idempotent-replayed"), "true");
    assert.equal(served.server.ledger().orders["order-lost"]?.charges, 1);
  });
});

Deno.test("serveStripeTestServer() rejects keys that are not sk_test_ with StripeAuthenticationError", async () => {
  await withServer(async ({ served }) => {
    for (const key of ["sk_live_0123456789abcdef", "pk_test_0123456789abcdef"]) {
      const error = await rejection(sdkFor(served, key).paymentIntents.list());
      assert.ok(error instanceof Stripe.errors.StripeAuthenticationError, String(error));
      assert.equal(error.statusCode, 401);
      assert.match(error.message, /^Invalid API Key provided: /);
      assert.doesNotMatch(error.message, /0123456789ab/);
    }
  });
});

Deno.test("serveStripeTestServer() serves the per-order ledger on GET /_test/ledger", async () => {
  await withServer(async ({ served, stripe }) => {
    const a = await charge(stripe, "pm_card_visa", "order-a", { amount: 1000 });
    await charge(stripe, "pm_card_visa", "order-b", { amount: 2500 });
    await rejection(charge(stripe, "pm_card_insufficientFunds", "order-c"));
    const f = await charge(stripe, "pm_card_refundFail", "order-f", { amount: 700 });
    await stripe.refunds.create({ payment_intent: a.id, amount: 400 });
    await stripe.refunds.create({ payment_intent: f.id });

    const response = await fetch(`${served.url}/_test/ledger`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      orders: {
        "order-a": {
          orderId: "order-a",
          chargedCents: 1000,
          refundedCents: 400,
          charges: 1,
          refunds: 1,
        },
        "order-b": {
          orderId: "order-b",
          chargedCents: 2500,
          refundedCents: 0,
          charges: 1,
          refunds: 0,
        },
        "order-f": {
          orderId: "order-f",
          chargedCents: 700,
          refundedCents: 0,
          charges: 1,
          refunds: 0,
        },
      },
      totals: { chargedCents: 4200, refundedCents: 400, charges: 3, refunds: 1 },
    });
  });
});

/** A clock the test moves by hand, so asynchronous outcomes come exactly when told. */
function manualClock(): { now: () => Date; advance(ms: number): void } {
  let ms = Date.parse("2026-12-01T12:00:00Z");
  return {
    now: () => new Date(ms),
    advance(by) {
      ms += by;
    },
  };
}

async function withClockedServer(
  run: (harness: Harness & { clock: ReturnType<typeof manualClock> }) => Promise<void>,
): Promise<void> {
  const clock = manualClock();
  await using served = serveStripeTestServer({ now: clock.now, asyncDelayMs: 2_000 });
  await run({ served, stripe: sdkFor(served), clock });
}

async function unexpectedState(promise: Promise<unknown>, status: string): Promise<void> {
  const error = await rejection(promise);
  assert.ok(error instanceof Stripe.errors.StripeInvalidRequestError, String(error));
  assert.equal(error.statusCode, 400);
  assert.equal(error.code, "payment_intent_unexpected_state");
  assert.match(
    error.message,
    new RegExp(`^You cannot cancel this PaymentIntent because it has a status of ${status}\\. `),
  );
  assert.equal(
    (error.raw as { payment_intent?: { status?: string } }).payment_intent?.status,
    status,
  );
}

Deno.test("serveStripeTestServer() leaves pm_card_authenticationRequired in requires_action until cancelled", async () => {
  await withClockedServer(async ({ served, stripe, clock }) => {
    const intent = await charge(stripe, "pm_card_authenticationRequired", "order-3ds");
    assert.equal(intent.status, "requires_action");
    assert.equal(intent.next_action?.type, "use_stripe_sdk");
    assert.equal(intent.latest_charge, null);
    assert.equal(intent.amount_received, 0);

    const redirected = await stripe.paymentIntents.create({
      amount: 1200,
      currency: "usd",
      payment_method: "pm_card_authenticationRequired",
      confirm: true,
      return_url: "https://shop.test/return",
    });
    assert.equal(redirected.status, "requires_action");
    assert.equal(redirected.next_action?.type, "redirect_to_url");
    assert.equal(redirected.next_action?.redirect_to_url?.return_url, "https://shop.test/return");
    assert.match(redirected.next_action?.redirect_to_url?.url ?? "", /^https:\/\/hooks\.stripe/);

    clock.advance(3_600_000);
    const later = await stripe.paymentIntents.retrieve(intent.id);
    assert.equal(later.status, "requires_action");
    assert.equal(served.server.ledger().orders["order-3ds"], undefined);

    const canceled = await stripe.paymentIntents.cancel(intent.id, {
      cancellation_reason: "abandoned",
    });
    assert.equal(canceled.status, "canceled");
    assert.equal(canceled.cancellation_reason, "abandoned");
    assert.equal(canceled.next_action, null);
    assert.equal(typeof canceled.canceled_at, "number");
    assert.equal((await stripe.paymentIntents.retrieve(intent.id)).status, "canceled");
    await unexpectedState(stripe.paymentIntents.cancel(intent.id), "canceled");
    assert.equal(served.server.ledger().orders["order-3ds"], undefined);
    assert.equal(served.server.ledger().totals.chargedCents, 0);
  });
});

Deno.test("serveStripeTestServer() settles pm_processing_succeeds after the async delay", async () => {
  await withClockedServer(async ({ served, stripe, clock }) => {
    const intent = await charge(stripe, "pm_processing_succeeds", "order-ps", { amount: 3100 });
    assert.equal(intent.status, "processing");
    assert.deepEqual(intent.processing, { type: "card" });
    assert.equal(intent.amount_received, 0);
    const pending = await stripe.charges.retrieve(intent.latest_charge as string);
    assert.equal(pending.status, "pending");
    assert.equal(pending.paid, false);
    assert.equal(served.server.ledger().orders["order-ps"], undefined);
    // Like Stripe for cards: a processing payment can be neither cancelled nor refunded.
    await unexpectedState(stripe.paymentIntents.cancel(intent.id), "processing");
    const refused = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    assert.ok(refused instanceof Stripe.errors.StripeInvalidRequestError, String(refused));

    clock.advance(1_999);
    assert.equal((await stripe.paymentIntents.retrieve(intent.id)).status, "processing");
    clock.advance(1);
    const settled = await stripe.paymentIntents.retrieve(intent.id, { expand: ["latest_charge"] });
    assert.equal(settled.status, "succeeded");
    assert.equal(settled.processing, null);
    assert.equal(settled.amount_received, 3100);
    const latest = settled.latest_charge as Stripe.Charge;
    assert.equal(latest.id, intent.latest_charge);
    assert.equal(latest.status, "succeeded");
    assert.equal(latest.paid, true);
    assert.equal(latest.amount_captured, 3100);
    assert.deepEqual(served.server.ledger().orders["order-ps"], {
      orderId: "order-ps",
      chargedCents: 3100,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
    await unexpectedState(stripe.paymentIntents.cancel(intent.id), "succeeded");
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(refund.status, "succeeded");
    assert.equal(served.server.ledger().orders["order-ps"]?.refundedCents, 3100);
  });
});

Deno.test("serveStripeTestServer() fails pm_processing_fails after the async delay, like Stripe", async () => {
  await withClockedServer(async ({ served, stripe, clock }) => {
    const intent = await charge(stripe, "pm_processing_fails", "order-pf");
    assert.equal(intent.status, "processing");
    clock.advance(2_000);
    const failed = await stripe.paymentIntents.retrieve(intent.id);
    assert.equal(failed.status, "requires_payment_method");
    assert.equal(failed.payment_method, null);
    assert.equal(failed.processing, null);
    assert.equal(failed.last_payment_error?.type, "card_error");
    assert.equal(failed.last_payment_error?.code, "card_declined");
    assert.equal(failed.last_payment_error?.decline_code, "generic_decline");
    assert.equal(failed.last_payment_error?.charge, intent.latest_charge);
    const latest = await stripe.charges.retrieve(intent.latest_charge as string);
    assert.equal(latest.status, "failed");
    assert.equal(latest.failure_code, "card_declined");
    assert.equal(served.server.ledger().orders["order-pf"], undefined);
    const canceled = await stripe.paymentIntents.cancel(intent.id);
    assert.equal(canceled.status, "canceled");
    assert.equal(canceled.cancellation_reason, null);
    assert.equal(served.server.ledger().totals.charges, 0);
  });
});

Deno.test("serveStripeTestServer() keeps refunds of pm_card_refundPendingFails pending, then fails them", async () => {
  await withClockedServer(async ({ served, stripe, clock }) => {
    const intent = await charge(stripe, "pm_card_refundPendingFails", "order-rpf", {
      amount: 2000,
    });
    assert.equal(intent.status, "succeeded");
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(refund.status, "pending");
    assert.equal(refund.failure_reason, undefined);
    assert.equal(
      (await stripe.charges.retrieve(intent.latest_charge as string)).amount_refunded,
      2000,
    );
    // The amount is held: a second refund finds nothing left to refund.
    const twice = await rejection(stripe.refunds.create({ payment_intent: intent.id }));
    assert.ok(twice instanceof Stripe.errors.StripeInvalidRequestError, String(twice));
    assert.equal(twice.code, "charge_already_refunded");
    assert.equal(served.server.ledger().orders["order-rpf"]?.refundedCents, 0);

    clock.advance(1_000);
    assert.equal((await stripe.refunds.retrieve(refund.id)).status, "pending");
    clock.advance(1_000);
    const failed = await stripe.refunds.retrieve(refund.id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.failure_reason, "declined");
    assert.equal(failed.pending_reason, undefined);
    assert.equal(
      (await stripe.charges.retrieve(intent.latest_charge as string)).amount_refunded,
      0,
    );
    assert.deepEqual(served.server.ledger().orders["order-rpf"], {
      orderId: "order-rpf",
      chargedCents: 2000,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });

    // With refund failures switched off, a new refund is still pending first, then succeeds.
    served.server.setRefundFailures(false);
    const retried = await stripe.refunds.create({ payment_intent: intent.id });
    assert.equal(retried.status, "pending");
    clock.advance(2_000);
    assert.equal((await stripe.refunds.retrieve(retried.id)).status, "succeeded");
    assert.equal(served.server.ledger().orders["order-rpf"]?.refundedCents, 2000);
  });
});

Deno.test("serveStripeTestServer() cancels PaymentIntents that wait for a method or a confirmation", async () => {
  await withServer(async ({ served, stripe }) => {
    const unpaid = await stripe.paymentIntents.create({
      amount: 900,
      currency: "usd",
      ...CARD_ONLY,
    });
    assert.equal(unpaid.status, "requires_payment_method");
    assert.equal((await stripe.paymentIntents.cancel(unpaid.id)).status, "canceled");
    const unconfirmed = await stripe.paymentIntents.create({
      amount: 900,
      currency: "usd",
      payment_method: "pm_card_visa",
      ...CARD_ONLY,
    });
    assert.equal(unconfirmed.status, "requires_confirmation");
    const canceled = await stripe.paymentIntents.cancel(unconfirmed.id, {
      cancellation_reason: "duplicate",
    });
    assert.equal(canceled.cancellation_reason, "duplicate");
    const confirmLater = await rejection(stripe.paymentIntents.confirm(unconfirmed.id));
    assert.ok(confirmLater instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(confirmLater.code, "payment_intent_unexpected_state");

    const paid = await charge(stripe, "pm_card_visa", "order-paid");
    await unexpectedState(stripe.paymentIntents.cancel(paid.id), "succeeded");
    const badReason = await rejection(
      stripe.paymentIntents.cancel(unpaid.id, {
        cancellation_reason: "bored" as Stripe.PaymentIntentCancelParams.CancellationReason,
      }),
    );
    assert.ok(badReason instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(badReason.param, "cancellation_reason");
    const missing = await rejection(stripe.paymentIntents.cancel("pi_missing"));
    assert.ok(missing instanceof Stripe.errors.StripeInvalidRequestError);
    assert.equal(missing.statusCode, 404);
    assert.equal(served.server.ledger().totals.charges, 1);
  });
});

Deno.test("serveStripeTestServer() settles on the real clock after the async delay set by /_test/async-delay", async () => {
  await withServer(async ({ served, stripe }) => {
    assert.deepEqual(await (await fetch(`${served.url}/_test/async-delay`)).json(), {
      delayMs: 2000,
    });
    const set = await fetch(`${served.url}/_test/async-delay`, {
      method: "POST",
      body: JSON.stringify({ delayMs: 150 }),
    });
    assert.deepEqual(await set.json(), { delayMs: 150 });
    const started = performance.now();
    const intent = await charge(stripe, "pm_processing_succeeds", "order-real-clock");
    assert.equal(intent.status, "processing");
    let status: Stripe.PaymentIntent.Status = intent.status;
    while (status === "processing" && performance.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await stripe.paymentIntents.retrieve(intent.id)).status;
    }
    assert.equal(status, "succeeded");
    assert.ok(performance.now() - started >= 145, "settled before its delay");
    const refused = await fetch(`${served.url}/_test/async-delay`, {
      method: "POST",
      body: JSON.stringify({ delayMs: -1 }),
    });
    assert.equal(refused.status, 400);
    await refused.body?.cancel();
    served.server.resetFaults();
    assert.deepEqual(served.server.asyncDelay(), { delayMs: 2000 });
  });
});

Deno.test("serveStripeTestServer() answers the SDK after STRIPE_TEST_LATENCY", async () => {
  await using served = serveStripeTestServer({ latencyMs: 120, random: () => 0.25 });
  const stripe = sdkFor(served);
  const started = performance.now();
  const intent = await charge(stripe, "pm_card_visa", "order-slow");
  const elapsed = performance.now() - started;
  assert.equal(intent.status, "succeeded");
  assert.ok(elapsed >= 115, `answered after ${elapsed} ms`);
});
