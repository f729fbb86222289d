/** Calls the handler directly with web-standard Requests: no socket, no SDK. */
import assert from "node:assert/strict";
import { createStripeTestServer } from "./server.ts";

const BASE = "http://stripe.test";
const AUTH = { authorization: "Bearer sk_test_handler" };
const FORM = { ...AUTH, "content-type": "application/x-www-form-urlencoded" };
const CHARGE_BODY = "amount=1999&currency=usd&payment_method=pm_card_visa&confirm=true" +
  "&payment_method_types[]=card&metadata[orderId]=o-1";

function post(path: string, body: string, headers: Record<string, string> = FORM): Request {
  return new Request(`${BASE}${path}`, { method: "POST", body, headers });
}

function get(path: string, headers: Record<string, string> = AUTH): Request {
  return new Request(`${BASE}${path}`, { headers });
}

// deno-lint-ignore no-explicit-any
async function json(response: Response): Promise<any> {
  return await response.json();
}

Deno.test("createStripeTestServer() handles curl-style form bodies and sets Stripe's headers", async () => {
  const { handler } = createStripeTestServer();
  const response = await handler(
    post("/v1/payment_intents", CHARGE_BODY, { ...FORM, "stripe-version": "2024-06-20" }),
  );
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.match(response.headers.get("request-id") ?? "", /^req_\w{14}$/);
  assert.equal(response.headers.get("stripe-version"), "2024-06-20");
  const body = await json(response);
  assert.equal(body.status, "succeeded");
  assert.deepEqual(body.payment_method_types, ["card"]);
  assert.deepEqual(body.metadata, { orderId: "o-1" });
});

Deno.test("createStripeTestServer() answers 401 when the API key is missing or not a test key", async () => {
  const { handler } = createStripeTestServer();
  const missing = await handler(get("/v1/payment_intents", {}));
  assert.equal(missing.status, 401);
  assert.match((await json(missing)).error.message, /You did not provide an API key/);

  const basic = await handler(
    get("/v1/payment_intents", { authorization: `Basic ${btoa("sk_test_curl:")}` }),
  );
  assert.equal(basic.status, 200);

  const live = await handler(get("/v1/payment_intents", { authorization: "Bearer sk_live_abc" }));
  assert.equal(live.status, 401);
  const { error } = await json(live);
  assert.equal(error.type, "invalid_request_error");
  assert.match(error.message, /^Invalid API Key provided: /);
});

Deno.test("createStripeTestServer() answers Stripe's 404 for an unrecognized URL", async () => {
  const { handler } = createStripeTestServer();
  const response = await handler(get("/v1/customers"));
  assert.equal(response.status, 404);
  const { error } = await json(response);
  assert.equal(error.type, "invalid_request_error");
  assert.match(error.message, /^Unrecognized request URL \(GET: \/v1\/customers\)/);
});

Deno.test("createStripeTestServer() rejects JSON and unknown parameters like Stripe", async () => {
  const { handler, records } = createStripeTestServer();
  const asJson = await handler(
    post("/v1/payment_intents", JSON.stringify({ amount: 1 }), {
      ...AUTH,
      "content-type": "application/json",
    }),
  );
  assert.equal(asJson.status, 400);
  const unknown = await handler(post("/v1/payment_intents", `${CHARGE_BODY}&colour=red`));
  assert.equal(unknown.status, 400);
  assert.deepEqual(
    { code: "parameter_unknown", param: "colour" },
    (({ code, param }) => ({ code, param }))((await json(unknown)).error),
  );
  assert.equal(records().paymentIntents.length, 0);
});

Deno.test("createStripeTestServer() executes concurrent requests with one Idempotency-Key once", async () => {
  const { handler, records } = createStripeTestServer();
  const headers = { ...FORM, "idempotency-key": "evt-concurrent" };
  const responses = await Promise.all(
    Array.from({ length: 5 }, () => handler(post("/v1/payment_intents", CHARGE_BODY, headers))),
  );
  const bodies = await Promise.all(responses.map((response) => response.text()));
  assert.equal(new Set(bodies).size, 1);
  assert.equal(records().paymentIntents.length, 1);
  assert.equal(records().charges.length, 1);
  const replayed = responses.filter((r) => r.headers.get("idempotent-replayed") === "true");
  assert.equal(replayed.length, 4);
});

Deno.test("createStripeTestServer() ignores parameter order when comparing idempotent requests", async () => {
  const { handler, records } = createStripeTestServer();
  const headers = { ...FORM, "idempotency-key": "evt-order" };
  const first = await handler(post("/v1/payment_intents", CHARGE_BODY, headers));
  const reordered = CHARGE_BODY.split("&").reverse().join("&");
  const second = await handler(post("/v1/payment_intents", reordered, headers));
  assert.equal(second.status, 200);
  assert.equal(second.headers.get("idempotent-replayed"), "true");
  assert.equal(await second.text(), await first.text());
  assert.equal(records().paymentIntents.length, 1);
});

Deno.test("createStripeTestServer() does not save a request that failed validation", async () => {
  const { handler, records } = createStripeTestServer();
  const headers = { ...FORM, "idempotency-key": "evt-invalid" };
  const invalid = await handler(
    post("/v1/payment_intents", CHARGE_BODY.replace("amount=1999", "amount=-5"), headers),
  );
  assert.equal(invalid.status, 400);
  assert.equal((await json(invalid)).error.code, "parameter_invalid_integer");
  const fixed = await handler(post("/v1/payment_intents", CHARGE_BODY, headers));
  assert.equal(fixed.status, 200);
  assert.equal(fixed.headers.get("idempotent-replayed"), null);
  assert.equal(records().paymentIntents.length, 1);
});

Deno.test("createStripeTestServer() counts error500 faults down to zero", async () => {
  const server = createStripeTestServer();
  server.setFault({ mode: "error500", count: 2 });
  assert.deepEqual(server.fault(), { mode: "error500", stallMs: 1000, remaining: 2 });
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await server.handler(get("/v1/refunds"))).status);
  assert.deepEqual(statuses, [500, 500, 200]);
  assert.equal(server.fault().mode, "ok");
  const controls = await server.handler(get("/_test/ledger", {}));
  assert.equal(controls.status, 200);
});

async function until(condition: () => boolean, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`Condition not met within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("createStripeTestServer() releases stalled responses on reset", async () => {
  const server = createStripeTestServer();
  server.setFault({ mode: "stall", stallMs: 60_000 });
  const stalled = server.handler(post("/v1/payment_intents", CHARGE_BODY));
  // The charge takes effect before its response is held back.
  await until(() => server.ledger().totals.charges === 1);
  const reset = await server.handler(new Request(`${BASE}/_test/reset`, { method: "POST" }));
  assert.deepEqual(await json(reset), { mode: "ok", stallMs: 1000, remaining: null });
  assert.equal((await stalled).status, 200);

  server.setFault({ mode: "stall", stallMs: 60_000 });
  const early = server.handler(post("/v1/payment_intents", CHARGE_BODY));
  server.resetFaults();
  assert.equal((await early).status, 200);
  assert.equal(server.ledger().totals.charges, 2);
});

Deno.test("createStripeTestServer() validates fault configs from code and over HTTP", async () => {
  const server = createStripeTestServer();
  assert.throws(
    () => server.setFault({ mode: "stall", stallMs: -1 }),
    (error: unknown) => error instanceof TypeError && /stallMs/.test(error.message),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => server.setFault({ mode: "explode" } as any),
    (error: unknown) => error instanceof TypeError && /mode/.test(error.message),
  );
  const bad = await server.handler(
    new Request(`${BASE}/_test/faults`, { method: "POST", body: '{"mode":"error500","count":0}' }),
  );
  assert.equal(bad.status, 400);
  assert.match((await json(bad)).error.message, /^Cannot set fault: invalid config at "count"/);
  const notJson = await server.handler(
    new Request(`${BASE}/_test/faults`, { method: "POST", body: "mode=stall" }),
  );
  assert.equal(notJson.status, 400);
  assert.equal(server.fault().mode, "ok");
  const unknown = await server.handler(get("/_test/nothing", {}));
  assert.equal(unknown.status, 404);
});

Deno.test("createStripeTestServer() confirms a PaymentIntent created without confirm", async () => {
  const { handler, ledger } = createStripeTestServer();
  const created = await json(
    await handler(
      post("/v1/payment_intents", CHARGE_BODY.replace("confirm=true", "confirm=false")),
    ),
  );
  assert.equal(created.status, "requires_confirmation");
  assert.equal(created.latest_charge, null);
  const confirmed = await handler(post(`/v1/payment_intents/${created.id}/confirm`, ""));
  assert.equal((await json(confirmed)).status, "succeeded");
  assert.equal(ledger().orders["o-1"]?.chargedCents, 1999);
});

Deno.test("createStripeTestServer() lets pm_card_refundFail refunds succeed once refund failures are off", async () => {
  const server = createStripeTestServer();
  const refundFail = CHARGE_BODY.replace("pm_card_visa", "pm_card_refundFail");
  const intent = await json(await server.handler(post("/v1/payment_intents", refundFail)));
  const refund = () => server.handler(post("/v1/refunds", `payment_intent=${intent.id}`));
  assert.equal(server.refundFailures(), true);
  const failed = await json(await refund());
  assert.equal(failed.status, "failed");
  assert.equal(failed.failure_reason, "expired_or_canceled_card");

  const off = await server.handler(
    new Request(`${BASE}/_test/refund-failures`, { method: "POST", body: '{"enabled":false}' }),
  );
  assert.deepEqual(await json(off), { enabled: false });
  assert.equal(server.refundFailures(), false);
  const succeeded = await json(await refund());
  assert.equal(succeeded.status, "succeeded");
  assert.equal(succeeded.failure_reason, undefined);
  assert.equal(server.ledger().orders["o-1"]?.refundedCents, 1999);
  const state = await server.handler(get("/_test/refund-failures", {}));
  assert.deepEqual(await json(state), { enabled: false });
});

Deno.test("createStripeTestServer() switches refund failures back on at reset and validates the switch", async () => {
  const server = createStripeTestServer();
  server.setRefundFailures(false);
  server.resetFaults();
  assert.equal(server.refundFailures(), true);
  for (const body of ['{"enabled":"no"}', "enabled=false", '{"enabled":false,"extra":1}']) {
    const bad = await server.handler(
      new Request(`${BASE}/_test/refund-failures`, { method: "POST", body }),
    );
    assert.equal(bad.status, 400, body);
    assert.match((await json(bad)).error.message, /^Cannot set refund failures: /);
  }
  assert.equal(server.refundFailures(), true);
});

/** Box–Muller with u = 0.75, v = 0.25 gives z = 0: every sample is exactly the median. */
const AT_MEDIAN = () => 0.25;

async function timed(run: () => Promise<Response>): Promise<{ ms: number; response: Response }> {
  const started = performance.now();
  const response = await run();
  await response.body?.cancel();
  return { ms: performance.now() - started, response };
}

Deno.test("createStripeTestServer() delays every /v1 answer by the latency, never the controls", async () => {
  const server = createStripeTestServer({ latencyMs: 150, random: AT_MEDIAN });
  const charged = await timed(() => server.handler(post("/v1/payment_intents", CHARGE_BODY)));
  assert.equal(charged.response.status, 200);
  assert.ok(charged.ms >= 145, `a charge answered after ${charged.ms} ms`);
  const unknown = await timed(() => server.handler(get("/v1/nothing")));
  assert.equal(unknown.response.status, 404);
  assert.ok(unknown.ms >= 145, `an unknown URL answered after ${unknown.ms} ms`);
  server.setFault({ mode: "error500", count: 1 });
  const failed = await timed(() => server.handler(get("/v1/payment_intents")));
  assert.equal(failed.response.status, 500);
  assert.ok(failed.ms >= 145, `an injected 500 answered after ${failed.ms} ms`);
  const control = await timed(() => server.handler(get("/_test/ledger")));
  assert.equal(control.response.status, 200);
  assert.ok(control.ms < 100, `a control endpoint answered after ${control.ms} ms`);
});

Deno.test("createStripeTestServer() changes the latency through /_test/latency until reset", async () => {
  const server = createStripeTestServer({ latencyMs: 150, random: AT_MEDIAN });
  assert.deepEqual(await json(await server.handler(get("/_test/latency"))), { medianMs: 150 });
  const set = await server.handler(
    new Request(`${BASE}/_test/latency`, { method: "POST", body: '{"medianMs":0}' }),
  );
  assert.deepEqual(await json(set), { medianMs: 0 });
  const fast = await timed(() => server.handler(get("/v1/payment_intents")));
  assert.ok(fast.ms < 100, `answered after ${fast.ms} ms with no latency`);
  server.setLatency(20);
  assert.deepEqual(server.latency(), { medianMs: 20 });
  server.resetFaults();
  assert.deepEqual(server.latency(), { medianMs: 150 });
  for (const body of ['{"medianMs":-1}', '{"medianMs":60001}', '{"ms":5}', "soon"]) {
    const refused = await server.handler(
      new Request(`${BASE}/_test/latency`, { method: "POST", body }),
    );
    assert.equal(refused.status, 400, body);
    assert.match((await json(refused)).error.message, /^Cannot set the latency: /);
  }
  assert.throws(() => server.setLatency(Number.NaN), RangeError);
  assert.throws(() => createStripeTestServer({ latencyMs: -5 }), RangeError);
  assert.deepEqual(server.latency(), { medianMs: 150 });
});
