import assert from "node:assert/strict";
import { SAGA_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import type { RetryJson } from "../saga_retry.ts";
import type { ConsoleBackend } from "./backend.ts";
import type { SagaEventHub } from "./events.ts";
import { refundFailedView } from "./fixtures.ts";
import { createConsoleHandler, statusOf } from "./server.ts";

const PORT = 9100;
const BASE = `http://127.0.0.1:${PORT}`;
const TOKEN = "process-token";

function fakeBackend() {
  const view = refundFailedView();
  const failed = { ...view.saga, status: "COMPENSATION_FAILED" as const };
  const retries: string[] = [];
  const counts = Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<SagaStatus, number>;
  const events: SagaEventHub = {
    live: true,
    listen: () => () => {},
    close: () => Promise.resolve(),
  };
  const backend: ConsoleBackend = {
    actor: () => "operator:alice",
    now: () => view.now,
    events,
    sagaList: () => Promise.resolve({ sagas: [failed], counts }),
    saga: (id) =>
      Promise.resolve(
        id === failed.sagaId || id === failed.orderId ? { ...view, saga: failed } : null,
      ),
    retryPlan: (id) => {
      if (id !== failed.sagaId) {
        return Promise.reject(new Error(`No saga has saga id or order id ${id}`));
      }
      return Promise.resolve({ saga: failed, plan: "COMPENSATION_FAILED → COMPENSATING" });
    },
    retry: (sagaId) => {
      retries.push(sagaId);
      return Promise.resolve({ sagaId, orderId: failed.orderId, result: "retried" } as RetryJson);
    },
    dlqList: () =>
      Promise.reject(
        new Error("Cannot reach Kafka at 127.0.0.1:1 (KAFKA_BROKERS): connection refused"),
      ),
    dlqRecord: (ref) =>
      Promise.reject(
        new Error(`Cannot find orders.dlq ${ref.partition}:${ref.offset}: no such partition`),
      ),
    replayPlan: () =>
      Promise.reject(new Error("Cannot replay orders.dlq 0:1: it is a COMPENSATION_FAILED alert")),
    replay: () => Promise.reject(new Error("unreachable")),
  };
  const handler = createConsoleHandler(backend, {
    token: TOKEN,
    port: () => PORT,
    closed: new AbortController().signal,
  });
  return { handler, failed, retries };
}

function get(path: string, headers: Record<string, string> = {}): Request {
  return new Request(`${BASE}${path}`, { headers: { host: `127.0.0.1:${PORT}`, ...headers } });
}

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { host: `127.0.0.1:${PORT}`, origin: BASE, ...headers },
    body: new URLSearchParams(fields),
  });
}

async function nonceOf(response: Response): Promise<string> {
  const html = await response.text();
  return /name="nonce" value="([^"]+)"/.exec(html)![1]!;
}

Deno.test("createConsoleHandler() answers only its own host", async () => {
  const { handler } = fakeBackend();
  const response = await handler(get("/sagas", { host: "evil.example:9100" }));
  assert.equal(response.status, 403);
  assert.match(await response.text(), /answers only as http:\/\/127\.0\.0\.1:9100\//);
  assert.equal((await handler(get("/sagas", { host: `localhost:${PORT}` }))).status, 200);
});

Deno.test("createConsoleHandler() sends a strict CSP and no caching", async () => {
  const { handler } = fakeBackend();
  const response = await handler(get("/sagas"));
  assert.match(response.headers.get("content-security-policy")!, /script-src 'self'/);
  assert.match(response.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
  assert.equal(response.headers.get("cache-control"), "no-store");
  await response.body?.cancel();
});

Deno.test("createConsoleHandler() retries once per confirmation, and refuses the second submit", async () => {
  const { handler, failed, retries } = fakeBackend();
  const nonce = await nonceOf(await handler(get(`/sagas/${failed.sagaId}/retry`)));
  const fields = { token: TOKEN, nonce, confirm: "yes" };
  const first = await handler(post(`/sagas/${failed.sagaId}/retry`, fields));
  assert.equal(first.status, 303);
  assert.equal(first.headers.get("location"), `/sagas/${failed.sagaId}?notice=retried`);
  const second = await handler(post(`/sagas/${failed.sagaId}/retry`, fields));
  assert.equal(second.status, 409);
  assert.match(
    await second.text(),
    /This retry was submitted already, .* ago: it was not sent again/,
  );
  assert.deepEqual(retries, [failed.sagaId]);
});

Deno.test("createConsoleHandler() refuses a POST from another site, without the token or unconfirmed", async () => {
  const { handler, failed, retries } = fakeBackend();
  const path = `/sagas/${failed.sagaId}/retry`;
  const nonce = await nonceOf(await handler(get(path)));
  const cases: [Record<string, string>, Record<string, string>, number, RegExp][] = [
    [
      { token: TOKEN, nonce, confirm: "yes" },
      { origin: "http://evil.example" },
      403,
      /another site/,
    ],
    [{ token: TOKEN, nonce, confirm: "yes" }, { origin: "null" }, 403, /another site/],
    [{ token: "guess", nonce, confirm: "yes" }, {}, 403, /without this console&#39;s token/],
    [{ token: TOKEN, nonce }, {}, 400, /not confirmed/],
    [{ token: TOKEN, nonce: "made-up", confirm: "yes" }, {}, 409, /unknown or expired/],
  ];
  for (const [fields, headers, status, message] of cases) {
    const response = await handler(post(path, fields, headers));
    assert.equal(response.status, status, JSON.stringify({ fields, headers }));
    assert.match(await response.text(), message);
  }
  const noOrigin = new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { host: `127.0.0.1:${PORT}` },
    body: new URLSearchParams({ token: TOKEN, nonce, confirm: "yes" }),
  });
  assert.equal((await handler(noOrigin)).status, 403);
  assert.deepEqual(retries, [], "nothing was retried");
  const other = await handler(post(`/sagas/${crypto.randomUUID()}/retry`, {
    token: TOKEN,
    nonce,
    confirm: "yes",
  }));
  assert.equal(other.status, 409, "a nonce is for one saga only");
  await other.body?.cancel();
});

Deno.test("createConsoleHandler() answers bad input with a clear page and the right status", async () => {
  const { handler } = fakeBackend();
  const unknown = crypto.randomUUID();
  const cases: [Request, number, RegExp][] = [
    [get(`/sagas/${unknown}`), 404, new RegExp(`No saga has saga id or order id ${unknown}`)],
    [get("/sagas/not-a-uuid"), 400, /&quot;not-a-uuid&quot; is not a saga id or order id/],
    [get("/sagas?id=nope"), 400, /&quot;nope&quot; is not a saga id/],
    [get("/sagas?status=BOGUS"), 400, /Unknown status &quot;BOGUS&quot;/],
    [get("/dlq/3:17"), 404, /Cannot find orders\.dlq 3:17/],
    [get("/dlq/x"), 400, /does not name a orders\.dlq record/],
    [
      get("/dlq/0:1/replay"),
      409,
      /Cannot replay orders\.dlq 0:1: it is a COMPENSATION_FAILED alert/,
    ],
    [get("/dlq"), 503, /Cannot reach Kafka/],
    [get("/nowhere"), 404, /There is no page at \/nowhere/],
    [
      new Request(`${BASE}/sagas`, { method: "DELETE", headers: { host: `127.0.0.1:${PORT}` } }),
      405,
      /DELETE is not allowed here/,
    ],
    [get(`/sagas/${unknown}/retry`), 404, /No saga has saga id or order id/],
  ];
  for (const [request, status, message] of cases) {
    const response = await handler(request);
    const text = await response.text();
    assert.equal(response.status, status, `${request.method} ${request.url}: ${text}`);
    assert.match(text, message, request.url);
    assert.match(text, /^<!doctype html>/);
    assert.doesNotMatch(text, /\bat \S+\.ts:\d+/, "no stack trace");
  }
});

Deno.test("statusOf() maps the CLI's errors to HTTP statuses", () => {
  assert.equal(statusOf(new Error("No saga has saga id or order id x")), 404);
  assert.equal(statusOf(new Error("Cannot retry saga x: it is COMPLETED; only …")), 409);
  assert.equal(statusOf(new Error("Cannot replay orders.dlq 1:2: it was replayed already")), 409);
  assert.equal(statusOf(new Error("Cannot reach PostgreSQL at x (DATABASE_URL): refused")), 503);
  assert.equal(statusOf(new Error("something else")), 500);
});
