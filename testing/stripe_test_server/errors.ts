/**
 * Stripe's error body (`{ "error": { … } }`) and the result type the API operations return.
 *
 * @module
 */
import type { Stripe } from "stripe";

/** What an API operation answers: an HTTP status and the JSON body to send. */
export interface ApiResult {
  status: number;
  body: unknown;
}

/** Stripe's error `type` values that this server produces. */
export type StripeErrorType =
  | "api_error"
  | "card_error"
  | "idempotency_error"
  | "invalid_request_error";

/** The object under `error` in a Stripe error body. */
export interface StripeErrorObject {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: Stripe.PaymentIntent;
  payment_method_type?: string;
  request_log_url?: string;
}

/** Builds Stripe's error answer; `doc_url` is derived from `code` when not given. */
export function stripeError(status: number, error: StripeErrorObject): ApiResult {
  const doc = error.code === undefined
    ? {}
    : { doc_url: `https://stripe.com/docs/error-codes/${error.code.replaceAll("_", "-")}` };
  return { status, body: { error: { ...doc, ...error } } };
}

/** Thrown inside an operation to stop it with a Stripe error answer; caught by the dispatcher. */
export class StripeRequestError extends Error {
  /** The error answer to send. */
  readonly result: ApiResult;

  /** Wraps a Stripe error answer built with `stripeError()`. */
  constructor(status: number, error: StripeErrorObject) {
    super(error.message);
    this.name = "StripeRequestError";
    this.result = stripeError(status, error);
  }
}

/** Builds a 400 `invalid_request_error` to throw. */
export function invalidRequest(
  message: string,
  fields: { param?: string; code?: string } = {},
): StripeRequestError {
  return new StripeRequestError(400, { type: "invalid_request_error", message, ...fields });
}

/** Builds a 404 `resource_missing` error for `GET /v1/<kind>s/:id`, worded like Stripe. */
export function resourceMissing(kind: string, id: string, param: string): StripeRequestError {
  return new StripeRequestError(404, {
    type: "invalid_request_error",
    code: "resource_missing",
    message: `No such ${kind}: '${id}'`,
    param,
  });
}
