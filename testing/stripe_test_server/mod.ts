/**
 * A local Stripe-compatible test server, so the real `stripe` SDK (v23) runs in tests and in
 * the demo without reaching Stripe.
 *
 * - `createStripeTestServer()` builds a web-standard `(Request) => Promise<Response>` handler
 *   with accessors for its records and ledger and controls for injected faults;
 *   `serveStripeTestServer()` binds it with `Deno.serve`; `main.ts` runs it standalone.
 * - Point the SDK at it with
 *   `new Stripe("sk_test_…", { host: "127.0.0.1", port, protocol: "http" })`.
 * - API: `POST /v1/payment_intents` (and `/:id/confirm`, `/:id/cancel`),
 *   `GET /v1/payment_intents[/:id]`, `GET /v1/charges[/:id]`, `POST /v1/refunds`,
 *   `GET /v1/refunds[/:id]`, with Stripe's JSON objects, form-encoded parameters and error
 *   bodies. Any `sk_test_…` key is accepted.
 * - Test PaymentMethods: see `TEST_CARDS`. `pm_card_refundFail` charges, and every refund of it
 *   is answered at once as a refund object with `status: "failed"` and `failure_reason:
 *   "expired_or_canceled_card"` (real Stripe first says `succeeded` and fails it later by
 *   webhook; answering synchronously lets the caller see the failure in the reply).
 * - Asynchronous outcomes (see `cards.ts`): `pm_card_authenticationRequired` stays
 *   `requires_action` until cancelled; `pm_processing_succeeds` / `pm_processing_fails` stay
 *   `processing`, then are `succeeded` / `requires_payment_method` with `last_payment_error`;
 *   refunds of `pm_card_refundPendingFails` stay `pending`, then are `failed`. The wait is
 *   `asyncDelayMs` (`STRIPE_TEST_ASYNC_DELAY`, default 2 s) on the server's clock; outcomes are
 *   computed when next read, with no timer. Cancelling follows Stripe: a PaymentIntent in
 *   `requires_payment_method`, `requires_confirmation`, `requires_capture` or `requires_action`
 *   can be cancelled; any other (`processing` included) answers 400
 *   `payment_intent_unexpected_state`.
 * - The ledger counts only money that moved: succeeded charges and succeeded refunds (not a
 *   `processing` payment until it succeeded, not a `pending` refund).
 * - `Idempotency-Key` on POSTs: a repeat with the same endpoint and parameters replays the first
 *   answer byte for byte with `Idempotent-Replayed: true`; other parameters answer 400
 *   `idempotency_error`; requests with one key run one at a time. Like Stripe, only answers
 *   that executed (2xx and card declines) are saved, not parameter-validation errors.
 * - Latency: every `/v1` answer (errors and injected 500s too) waits a log-normal sample with
 *   median `latencyMs` (`STRIPE_TEST_LATENCY` for `main.ts`; default 0) and p99 ≈ 3× the median
 *   (`sampleLatency()`); the request takes effect at once and its answer is held back. The
 *   `/_test/` controls are never delayed.
 * - Controls (no auth): `POST /_test/faults` `{ mode: "ok" | "error500" | "stall", stallMs?,
 *   count? }`, `GET /_test/faults`, `POST /_test/refund-failures` `{ enabled: boolean }` (false:
 *   refunds of `pm_card_refundFail` succeed from now on), `GET /_test/refund-failures`,
 *   `POST /_test/latency` `{ medianMs }`, `GET /_test/latency`, `POST /_test/async-delay`
 *   `{ delayMs }` (for outcomes that start waiting from then on), `GET /_test/async-delay`,
 *   `POST /_test/reset` (faults, the refund-failure switch, the latency and the async delay
 *   back to the configured ones; not records), `GET /_test/ledger`, `GET /_test/records`.
 *   `error500` answers before the API runs (nothing happens, nothing is saved under the key);
 *   `stall` lets the request take effect and then holds its response back.
 * - Everything is in memory; a restart starts from an empty account.
 *
 * @module
 */
export { type AsyncOutcome, TEST_CARDS, type TestCard } from "./cards.ts";
export type { ApiResult, StripeErrorObject, StripeErrorType } from "./errors.ts";
export { type FormParams, type FormValue, parseForm } from "./form.ts";
export { LATENCY_SIGMA, sampleLatency } from "./latency.ts";
export {
  type AsyncDelayState,
  createStripeTestServer,
  DEFAULT_STRIPE_VERSION,
  type FaultConfig,
  type FaultMode,
  type FaultState,
  type LatencyState,
  type StripeTestServer,
  type StripeTestServerOptions,
} from "./server.ts";
export {
  type ServedStripeTestServer,
  serveStripeTestServer,
  type ServeStripeTestServerOptions,
} from "./serve.ts";
export {
  DEFAULT_ASYNC_DELAY_MS,
  type LedgerEntry,
  type StripeLedger,
  type StripeTestRecords,
} from "./store.ts";
