/**
 * The Stripe-compatible test server as a web-standard `(Request) => Promise<Response>` handler:
 * API-key check, `Idempotency-Key` replay, fault injection and the `/_test/` control endpoints,
 * in front of the in-memory account of `store.ts`.
 *
 * @module
 */
import { z } from "zod";
import { type ApiResult, stripeError, StripeRequestError } from "./errors.ts";
import { type FormParams, type FormValue, parseForm } from "./form.ts";
import { sampleLatency } from "./latency.ts";
import {
  createStore,
  DEFAULT_ASYNC_DELAY_MS,
  newId,
  type StripeLedger,
  type StripeStore,
  type StripeTestRecords,
} from "./store.ts";

/** The API version the server reports when the request names none (the SDK's pinned version). */
export const DEFAULT_STRIPE_VERSION = "2026-10-28.endive";

/** Fault modes: answer normally, answer Stripe's 500 `api_error`, or hold responses back. */
export type FaultMode = "ok" | "error500" | "stall";

/** A fault to inject, as sent to `POST /_test/faults`. */
export interface FaultConfig {
  mode: FaultMode;
  /** How long a stalled response is held back (default 1000 ms). */
  stallMs?: number;
  /** How many `/v1/` requests the fault applies to; absent means until reset. */
  count?: number;
}

/** The fault in force: `remaining` is `null` when it lasts until reset. */
export interface FaultState {
  mode: FaultMode;
  stallMs: number;
  remaining: number | null;
}

/** Options of `createStripeTestServer()`. */
export interface StripeTestServerOptions {
  /** Clock for `created` timestamps; defaults to the system clock. */
  now?: () => Date;
  /**
   * Median delay of every `/v1` answer in ms (default 0: answer at once); each answer waits a
   * log-normal sample with this median and a p99 about 3× it (`sampleLatency()`).
   */
  latencyMs?: number;
  /**
   * How long, in ms, a `processing` payment or a `pending` refund waits for its outcome
   * (default 2000; `STRIPE_TEST_ASYNC_DELAY` for `main.ts`), on the `now` clock.
   */
  asyncDelayMs?: number;
  /** Floats in [0, 1) for the latency samples (default `Math.random`; a seeded PRNG in tests). */
  random?: () => number;
}

/** The answer delay in force, as read and set through `/_test/latency`. */
export interface LatencyState {
  /** Median delay of every `/v1` answer in ms (0: none). */
  medianMs: number;
}

/** The wait of asynchronous outcomes, as read and set through `/_test/async-delay`. */
export interface AsyncDelayState {
  /** How long a `processing` payment or a `pending` refund waits for its outcome, in ms. */
  delayMs: number;
}

/** A test server: its request handler, its records and its fault controls. */
export interface StripeTestServer {
  /** Answers one HTTP request (Stripe API under `/v1/`, controls under `/_test/`). */
  handler: (request: Request) => Promise<Response>;
  /** Copies of every PaymentIntent, Charge and Refund, oldest first. */
  records(): StripeTestRecords;
  /** Per-order and total money moved, from succeeded charges and refunds only. */
  ledger(): StripeLedger;
  /** The fault in force. */
  fault(): FaultState;
  /** Injects a fault for later `/v1/` requests; throws `TypeError` on an invalid config. */
  setFault(fault: FaultConfig): void;
  /** The answer delay in force. */
  latency(): LatencyState;
  /** Sets the median delay of later `/v1` answers; throws `RangeError` unless 0 to 60 s. */
  setLatency(medianMs: number): void;
  /** The wait of asynchronous outcomes in force. */
  asyncDelay(): AsyncDelayState;
  /**
   * Sets how long payments and refunds that start waiting from now on wait for their outcome;
   * throws `RangeError` unless 0 to 1 h.
   */
  setAsyncDelay(delayMs: number): void;
  /** Whether refunds of `pm_card_refundFail` charges fail (true until switched off). */
  refundFailures(): boolean;
  /**
   * Switches the refund failures of `pm_card_refundFail` off (refunds then succeed from now on)
   * or back on, e.g. to let an operator retry a failed compensation once the fault is gone.
   */
  setRefundFailures(enabled: boolean): void;
  /**
   * Clears any fault, switches refund failures back on, puts the latency and the async delay
   * back to the ones the server was created with and releases responses being stalled or delayed; records are kept.
   */
  resetFaults(): void;
}

const DEFAULT_STALL_MS = 1000;
const NO_FAULT: FaultState = { mode: "ok", stallMs: DEFAULT_STALL_MS, remaining: null };

const MAX_LATENCY_MS = 60_000;

const refundFailuresSchema = z.strictObject({ enabled: z.boolean() });
const latencySchema = z.strictObject({ medianMs: z.number().min(0).max(MAX_LATENCY_MS) });
const MAX_ASYNC_DELAY_MS = 3_600_000;
const asyncDelaySchema = z.strictObject({
  delayMs: z.number().min(0).max(MAX_ASYNC_DELAY_MS),
});

const faultSchema = z.strictObject({
  mode: z.enum(["ok", "error500", "stall"]),
  stallMs: z.number().int().min(0).max(600_000).optional(),
  count: z.number().int().min(1).optional(),
});

interface Route {
  method: string;
  pattern: RegExp;
  run: (params: FormParams, id: string) => ApiResult;
}

interface SavedResponse {
  method: string;
  path: string;
  fingerprint: string;
  status: number;
  bodyText: string;
  requestId: string;
}

interface ResponseMeta {
  requestId: string;
  stripeVersion: string;
  idempotencyKey?: string;
}

/** Creates a test server with an empty in-memory account and no fault. */
export function createStripeTestServer(options: StripeTestServerOptions = {}): StripeTestServer {
  let refundFailuresEnabled = true;
  const configuredAsyncDelayMs = options.asyncDelayMs ?? DEFAULT_ASYNC_DELAY_MS;
  checkAsyncDelay(configuredAsyncDelayMs);
  let asyncDelayMs = configuredAsyncDelayMs;
  const store = createStore({
    now: options.now,
    refundFailures: () => refundFailuresEnabled,
    asyncDelayMs: () => asyncDelayMs,
  });
  const routes = routesOf(store);
  const saved = new Map<string, SavedResponse>();
  const keyLocks = new Map<string, Promise<void>>();
  const stalled = new Set<() => void>();
  let current: FaultState = NO_FAULT;
  let resets = 0;
  const random = options.random ?? Math.random;
  const configuredLatencyMs = options.latencyMs ?? 0;
  checkLatency(configuredLatencyMs);
  let latencyMs = configuredLatencyMs;

  async function handleStripeRequest(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/_test" || url.pathname.startsWith("/_test/")) {
      return await handleControl(request, url);
    }
    const arrived = performance.now();
    const delayMs = sampleLatency(latencyMs, random);
    const response = await answerApi(request, url);
    const left = delayMs - (performance.now() - arrived);
    if (left > 0) await stall(left);
    return response;
  }

  async function answerApi(request: Request, url: URL): Promise<Response> {
    const meta: ResponseMeta = {
      requestId: newId("req_", 14),
      stripeVersion: request.headers.get("stripe-version") ?? DEFAULT_STRIPE_VERSION,
    };
    const fault = takeFault();
    if (fault?.mode === "error500") {
      await request.body?.cancel();
      return respond(
        stripeError(500, {
          type: "api_error",
          message: "An unknown error occurred (injected by the Stripe test server)",
        }),
        meta,
      );
    }
    const epoch = resets;
    const response = await handleApi(request, url, meta);
    // A reset that came while this request ran cancels its stall too.
    if (fault?.mode === "stall" && epoch === resets) await stall(fault.stallMs);
    return response;
  }

  async function handleApi(request: Request, url: URL, meta: ResponseMeta): Promise<Response> {
    const denied = authenticate(request.headers.get("authorization"));
    if (denied !== undefined) return respond(denied, meta);
    const method = request.method.toUpperCase();
    const found = matchRoute(routes, method, url.pathname);
    if (found === undefined) {
      return respond(
        stripeError(404, {
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${url.pathname}). ` +
            "Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
        }),
        meta,
      );
    }
    const params = await readParams(request, url, method);
    if (!("params" in params)) return respond(params, meta);
    const key = method === "POST" ? request.headers.get("idempotency-key") : null;
    if (key === null) return respond(execute(found, params.params), meta);
    if (key.length > 255) {
      return respond(
        stripeError(400, {
          type: "invalid_request_error",
          message: "Idempotency-Key must be at most 255 characters long",
        }),
        meta,
      );
    }
    meta.idempotencyKey = key;
    return await withKeyLock(
      key,
      () => idempotent(key, method, url.pathname, found, params.params, meta),
    );
  }

  function idempotent(
    key: string,
    method: string,
    path: string,
    found: { route: Route; id: string },
    params: FormParams,
    meta: ResponseMeta,
  ): Response {
    const fingerprint = JSON.stringify(canonical(params));
    const previous = saved.get(key);
    if (previous !== undefined) {
      if (previous.method !== method || previous.path !== path) {
        return respond(
          stripeError(400, {
            type: "idempotency_error",
            message: "Keys for idempotent requests can only be used for the same endpoint they " +
              `were first used for ('${previous.method} ${previous.path}' vs '${method} ${path}'). ` +
              `Try using a key other than '${key}' if you meant to execute a different request.`,
          }),
          meta,
        );
      }
      if (previous.fingerprint !== fingerprint) {
        return respond(
          stripeError(400, {
            type: "idempotency_error",
            message: "Keys for idempotent requests can only be used with the same parameters " +
              `they were first used with. Try using a key other than '${key}' if you meant to ` +
              "execute a different request.",
          }),
          meta,
        );
      }
      return new Response(previous.bodyText, {
        status: previous.status,
        headers: {
          ...headersOf(meta),
          "idempotent-replayed": "true",
          "original-request": previous.requestId,
        },
      });
    }
    const result = execute(found, params);
    const bodyText = JSON.stringify(result.body, null, 2);
    // Like Stripe, save only requests that began executing: successes and card declines, not
    // requests rejected while validating their parameters.
    if (result.status < 400 || result.status === 402) {
      saved.set(key, {
        method,
        path,
        fingerprint,
        status: result.status,
        bodyText,
        requestId: meta.requestId,
      });
    }
    return new Response(bodyText, { status: result.status, headers: headersOf(meta) });
  }

  async function withKeyLock<T>(key: string, work: () => T | Promise<T>): Promise<T> {
    const before = keyLocks.get(key) ?? Promise.resolve();
    const running = before.then(work);
    const done = running.then(() => undefined, () => undefined);
    keyLocks.set(key, done);
    try {
      return await running;
    } finally {
      if (keyLocks.get(key) === done) keyLocks.delete(key);
    }
  }

  function takeFault(): FaultState | undefined {
    if (current.mode === "ok") return undefined;
    const taken = current;
    if (taken.remaining !== null) {
      const remaining = taken.remaining - 1;
      current = remaining === 0 ? NO_FAULT : { ...taken, remaining };
    }
    return taken;
  }

  function stall(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(release, ms);
      function release(): void {
        clearTimeout(timer);
        stalled.delete(release);
        resolve();
      }
      stalled.add(release);
    });
  }

  function setFault(fault: FaultConfig): void {
    const parsed = faultSchema.safeParse(fault);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0
        ? ""
        : ` at "${issue.path.join(".")}"`;
      throw new TypeError(`Cannot set fault: invalid config${where}: ${issue?.message}`);
    }
    const { mode, stallMs, count } = parsed.data;
    current = mode === "ok"
      ? NO_FAULT
      : { mode, stallMs: stallMs ?? DEFAULT_STALL_MS, remaining: count ?? null };
  }

  function setLatency(medianMs: number): void {
    checkLatency(medianMs);
    latencyMs = medianMs;
  }

  function setAsyncDelay(delayMs: number): void {
    checkAsyncDelay(delayMs);
    asyncDelayMs = delayMs;
  }

  function resetFaults(): void {
    current = NO_FAULT;
    refundFailuresEnabled = true;
    latencyMs = configuredLatencyMs;
    asyncDelayMs = configuredAsyncDelayMs;
    resets += 1;
    for (const release of [...stalled]) release();
  }

  async function handleControl(request: Request, url: URL): Promise<Response> {
    const method = request.method.toUpperCase();
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case "GET /_test/ledger":
        return controlJson(200, store.ledger());
      case "GET /_test/records":
        return controlJson(200, store.records());
      case "GET /_test/faults":
        return controlJson(200, current);
      case "POST /_test/faults": {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          return controlJson(400, { error: { message: "Cannot set fault: body is not JSON" } });
        }
        try {
          setFault(body as FaultConfig);
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          return controlJson(400, { error: { message: error.message } });
        }
        return controlJson(200, current);
      }
      case "GET /_test/refund-failures":
        return controlJson(200, { enabled: refundFailuresEnabled });
      case "POST /_test/refund-failures": {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          return controlJson(400, {
            error: { message: "Cannot set refund failures: body is not JSON" },
          });
        }
        const parsed = refundFailuresSchema.safeParse(body);
        if (!parsed.success) {
          return controlJson(400, {
            error: { message: 'Cannot set refund failures: body must be { "enabled": boolean }' },
          });
        }
        refundFailuresEnabled = parsed.data.enabled;
        return controlJson(200, { enabled: refundFailuresEnabled });
      }
      case "GET /_test/latency":
        return controlJson(200, { medianMs: latencyMs });
      case "POST /_test/latency": {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          return controlJson(400, {
            error: { message: "Cannot set the latency: body is not JSON" },
          });
        }
        const parsed = latencySchema.safeParse(body);
        if (!parsed.success) {
          return controlJson(400, {
            error: {
              message: 'Cannot set the latency: body must be { "medianMs": number } with 0 to ' +
                `${MAX_LATENCY_MS} ms`,
            },
          });
        }
        latencyMs = parsed.data.medianMs;
        return controlJson(200, { medianMs: latencyMs });
      }
      case "GET /_test/async-delay":
        return controlJson(200, { delayMs: asyncDelayMs });
      case "POST /_test/async-delay": {
        let body: unknown;
        try {
          body = await request.json();
        } catch {
          return controlJson(400, {
            error: { message: "Cannot set the async delay: body is not JSON" },
          });
        }
        const parsed = asyncDelaySchema.safeParse(body);
        if (!parsed.success) {
          return controlJson(400, {
            error: {
              message: 'Cannot set the async delay: body must be { "delayMs": number } with 0 to ' +
                `${MAX_ASYNC_DELAY_MS} ms`,
            },
          });
        }
        asyncDelayMs = parsed.data.delayMs;
        return controlJson(200, { delayMs: asyncDelayMs });
      }
      case "POST /_test/reset":
        resetFaults();
        return controlJson(200, current);
      default:
        return controlJson(404, {
          error: { message: `Unknown test control endpoint: ${method} ${url.pathname}` },
        });
    }
  }

  return {
    handler: handleStripeRequest,
    records: () => store.records(),
    ledger: () => store.ledger(),
    fault: () => ({ ...current }),
    setFault,
    latency: () => ({ medianMs: latencyMs }),
    setLatency,
    asyncDelay: () => ({ delayMs: asyncDelayMs }),
    setAsyncDelay,
    refundFailures: () => refundFailuresEnabled,
    setRefundFailures(enabled: boolean) {
      refundFailuresEnabled = enabled;
    },
    resetFaults,
  };
}

function checkLatency(medianMs: number): void {
  if (!Number.isFinite(medianMs) || medianMs < 0 || medianMs > MAX_LATENCY_MS) {
    throw new RangeError(
      `Cannot set the latency: the median must be 0 to ${MAX_LATENCY_MS} ms, got ${medianMs}`,
    );
  }
}

function checkAsyncDelay(delayMs: number): void {
  if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_ASYNC_DELAY_MS) {
    throw new RangeError(
      `Cannot set the async delay: it must be 0 to ${MAX_ASYNC_DELAY_MS} ms, got ${delayMs}`,
    );
  }
}

function routesOf(store: StripeStore): Route[] {
  return [
    { method: "POST", pattern: /^\/v1\/payment_intents$/, run: store.createPaymentIntent },
    { method: "GET", pattern: /^\/v1\/payment_intents$/, run: store.listPaymentIntents },
    {
      method: "GET",
      pattern: /^\/v1\/payment_intents\/([^/]+)$/,
      run: (params, id) => store.retrievePaymentIntent(id, params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/,
      run: (params, id) => store.confirmPaymentIntent(id, params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
      run: (params, id) => store.cancelPaymentIntent(id, params),
    },
    { method: "GET", pattern: /^\/v1\/charges$/, run: store.listCharges },
    {
      method: "GET",
      pattern: /^\/v1\/charges\/([^/]+)$/,
      run: (params, id) => store.retrieveCharge(id, params),
    },
    { method: "POST", pattern: /^\/v1\/refunds$/, run: store.createRefund },
    { method: "GET", pattern: /^\/v1\/refunds$/, run: store.listRefunds },
    {
      method: "GET",
      pattern: /^\/v1\/refunds\/([^/]+)$/,
      run: (params, id) => store.retrieveRefund(id, params),
    },
  ];
}

function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; id: string } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match === null) continue;
    let id = match[1] ?? "";
    try {
      id = decodeURIComponent(id);
    } catch {
      // Keep the raw segment; it will not name any object.
    }
    return { route, id };
  }
  return undefined;
}

function execute(found: { route: Route; id: string }, params: FormParams): ApiResult {
  try {
    return found.route.run(params, found.id);
  } catch (error) {
    if (error instanceof StripeRequestError) return error.result;
    const message = error instanceof Error ? error.message : String(error);
    return stripeError(500, {
      type: "api_error",
      message: `The Stripe test server failed while handling the request: ${message}`,
    });
  }
}

async function readParams(
  request: Request,
  url: URL,
  method: string,
): Promise<{ params: FormParams } | ApiResult> {
  let text = url.search.slice(1);
  if (method === "POST") {
    const type = request.headers.get("content-type") ?? "";
    if (type.includes("json")) {
      await request.body?.cancel();
      return stripeError(400, {
        type: "invalid_request_error",
        message: "Invalid request: Stripe's v1 API takes application/x-www-form-urlencoded " +
          `bodies, not ${type}`,
      });
    }
    text = await request.text();
  }
  try {
    return { params: parseForm(text) };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return stripeError(400, { type: "invalid_request_error", message: error.message });
  }
}

function authenticate(header: string | null): ApiResult | undefined {
  if (header === null || header.trim() === "") {
    return stripeError(401, {
      type: "invalid_request_error",
      message: "You did not provide an API key. You need to provide your API key in the " +
        "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). " +
        "See https://stripe.com/docs/api#authentication for details, or we can help at " +
        "https://support.stripe.com/.",
    });
  }
  const key = apiKeyOf(header);
  if (key.startsWith("sk_test_") && key.length > "sk_test_".length) return undefined;
  return stripeError(401, {
    type: "invalid_request_error",
    message: `Invalid API Key provided: ${redact(key)} ` +
      "(the Stripe test server accepts only secret test keys, sk_test_…)",
  });
}

function apiKeyOf(header: string): string {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) return bearer[1] as string;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (basic !== null) {
    try {
      return atob(basic[1] as string).split(":")[0] ?? "";
    } catch {
      return "";
    }
  }
  return header.trim();
}

function redact(key: string): string {
  if (key.length <= 12) return "*".repeat(key.length);
  const prefix = key.slice(0, key.indexOf("_", 3) + 1 || 3);
  return `${prefix}${"*".repeat(key.length - prefix.length - 4)}${key.slice(-4)}`;
}

function headersOf(meta: ResponseMeta): Record<string, string> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "cache-control": "no-cache, no-store",
    "request-id": meta.requestId,
    "stripe-version": meta.stripeVersion,
  };
  if (meta.idempotencyKey !== undefined) headers["idempotency-key"] = meta.idempotencyKey;
  return headers;
}

function respond(result: ApiResult, meta: ResponseMeta): Response {
  return new Response(JSON.stringify(result.body, null, 2), {
    status: result.status,
    headers: headersOf(meta),
  });
}

function controlJson(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body, null, 2), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function canonical(value: FormValue): unknown {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(canonical);
  return Object.keys(value).sort().map((key) => [key, canonical(value[key] as FormValue)]);
}
