/**
 * The payment service's only door to Stripe, through the real `stripe` SDK (DESIGN §2, §7): a
 * charge (PaymentIntent created and confirmed in one call) and a refund, each sent with the
 * `eventId` of the command that recorded the attempt as `idempotencyKey` (DESIGN §5), each
 * answered as a plain result. The handlers call it with no database transaction open.
 *
 * Outcomes that are not final are results too: a PaymentIntent `processing` (the follower reads
 * it again with `followCharge`), a refund `pending` (`followRefund`). A PaymentIntent that needs
 * the customer (`requires_action`, 3D Secure) or another payment method is cancelled at once,
 * under a key derived from the attempt's, and is a failure (`authentication_required`).
 *
 * Business outcomes (declines, refused requests, failed refunds) are results; infrastructure
 * faults (5xx, network, timeout, rate limit, credentials) are thrown as `InfrastructureError`,
 * which the consumer retries without limit; anything else is thrown as it is (bounded retries,
 * then the DLQ). Every call is measured in `stripe_request_duration_seconds` and counted in
 * `stripe_requests_total`, both by `operation` and `outcome`.
 */
import Stripe from "stripe";
import { Counter, Histogram, type Registry } from "prom-client";
import { InfrastructureError } from "../../lib/errors/mod.ts";
import type { StripeSettings } from "./config.ts";
import {
  chargeOutcome,
  classifyStripeError,
  type Failure,
  refundOutcome,
  type StripeErrorClass,
} from "./decide.ts";

/** The SDK client, for callers that only pass it along. */
export type StripeClient = Stripe;

/** Options of `createStripeClient`. */
export interface StripeClientOptions {
  /** The SDK's own retries of a failed request, with the same idempotency key (default 2). */
  maxNetworkRetries?: number;
}

/** Creates the SDK client for `settings` (host, port, protocol, key, timeout). */
export function createStripeClient(
  settings: StripeSettings,
  options: StripeClientOptions = {},
): StripeClient {
  return new Stripe(settings.apiKey, {
    host: settings.host,
    port: settings.port,
    protocol: settings.protocol,
    timeout: settings.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
  });
}

/** A charge of one order. */
export interface ChargeRequest {
  orderId: string;
  sagaId?: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
  /**
   * The `eventId` of the command that recorded the attempt: a repeated attempt replays the first
   * answer, never charges twice.
   */
  idempotencyKey: string;
}

/** What a charge came to: money taken, or a business failure (`declined` for a card decline). */
export type ChargeResult =
  | { outcome: "succeeded"; paymentIntentId: string; amountCents: number }
  /** Not final: the follower reads it again. */
  | { outcome: "processing"; paymentIntentId: string; amountCents: number }
  | ({ outcome: "declined" | "failed"; paymentIntentId: string | null } & Failure);

/** A refund of an order's PaymentIntent, in full. */
export interface RefundRequest {
  orderId: string;
  sagaId?: string;
  paymentIntentId: string;
  /** The `eventId` of the command that recorded the refund attempt. */
  idempotencyKey: string;
}

/** What a refund came to: money returned, or a business failure. */
export type RefundResult =
  | { outcome: "succeeded"; refundId: string; amountCents: number }
  /** Not final: the follower reads it again. */
  | { outcome: "pending"; refundId: string; amountCents: number }
  | ({ outcome: "failed"; refundId: string | null } & Failure);

/** A PaymentIntent answered `processing`, read again. */
export interface FollowChargeRequest {
  orderId: string;
  paymentIntentId: string;
  /** The charge attempt's key: a cancel is sent under a key derived from it. */
  idempotencyKey: string;
}

/** A refund answered `pending`, read again. */
export interface FollowRefundRequest {
  orderId: string;
  refundId: string;
}

/** Charges and refunds through Stripe; throws `InfrastructureError` when it cannot tell. */
export interface PaymentGateway {
  /** Creates and confirms a PaymentIntent. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Refunds a PaymentIntent's charge. */
  refund(request: RefundRequest): Promise<RefundResult>;
  /** Reads a PaymentIntent again: still `processing`, or what it came to. */
  followCharge(request: FollowChargeRequest): Promise<ChargeResult>;
  /** Reads a refund again: still `pending`, or what it came to. */
  followRefund(request: FollowRefundRequest): Promise<RefundResult>;
}

/** Options of `createStripeGateway`. */
export interface StripeGatewayOptions {
  /** Where the Stripe metrics are registered, e.g. `runtime.metrics`; none when absent. */
  metrics?: { registry: Registry };
}

/** Labels of the Stripe metrics. */
type Operation = "charge" | "refund" | "follow_charge" | "follow_refund";
type Outcome = "succeeded" | "processing" | "pending" | "declined" | "failed" | "error";

/** Builds the gateway on an SDK client. */
export function createStripeGateway(
  stripe: StripeClient,
  options: StripeGatewayOptions = {},
): PaymentGateway {
  const registers = options.metrics === undefined ? [] : [options.metrics.registry];
  const duration = new Histogram({
    name: "stripe_request_duration_seconds",
    help: "Duration of Stripe API calls, by operation and outcome",
    labelNames: ["operation", "outcome"] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const requests = new Counter({
    name: "stripe_requests_total",
    help:
      "Stripe API calls, by operation and outcome (succeeded, processing, pending, declined, failed, error)",
    labelNames: ["operation", "outcome"] as const,
    registers,
  });

  async function measured<T extends { outcome: Outcome }>(
    operation: Operation,
    call: () => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    let outcome: Outcome = "error";
    try {
      const result = await call();
      outcome = result.outcome;
      return result;
    } finally {
      duration.observe({ operation, outcome }, (performance.now() - started) / 1000);
      requests.inc({ operation, outcome });
    }
  }

  return {
    charge: (request) =>
      measured("charge", async function charge(): Promise<ChargeResult> {
        try {
          const intent = await stripe.paymentIntents.create({
            amount: request.amountCents,
            currency: request.currency,
            payment_method: request.paymentMethod,
            confirm: true,
            automatic_payment_methods: { enabled: true, allow_redirects: "never" },
            metadata: metadataOf(request),
          }, { idempotencyKey: request.idempotencyKey });
          return await settleIntent(intent, request);
        } catch (error) {
          const failure = businessFailureOf(error, `charge order "${request.orderId}"`);
          return {
            outcome: failure.declined ? "declined" : "failed",
            code: failure.code,
            reason: failure.reason,
            paymentIntentId: (error as Stripe.errors.StripeError).payment_intent?.id ?? null,
          };
        }
      }),
    refund: (request) =>
      measured("refund", async function refund(): Promise<RefundResult> {
        try {
          const refund = await stripe.refunds.create({
            payment_intent: request.paymentIntentId,
            metadata: metadataOf(request),
          }, { idempotencyKey: request.idempotencyKey });
          return refundResultOf(refund);
        } catch (error) {
          const failure = businessFailureOf(error, `refund order "${request.orderId}"`);
          return { outcome: "failed", refundId: null, code: failure.code, reason: failure.reason };
        }
      }),
    followCharge: (request) =>
      measured("follow_charge", async function followCharge(): Promise<ChargeResult> {
        const doing = `read PaymentIntent ${request.paymentIntentId} of order "${request.orderId}"`;
        try {
          return await settleIntent(
            await stripe.paymentIntents.retrieve(request.paymentIntentId),
            request,
          );
        } catch (error) {
          const failure = businessFailureOf(error, doing);
          return { outcome: "failed", paymentIntentId: request.paymentIntentId, ...failure };
        }
      }),
    followRefund: (request) =>
      measured("follow_refund", async function followRefund(): Promise<RefundResult> {
        try {
          return refundResultOf(await stripe.refunds.retrieve(request.refundId));
        } catch (error) {
          const failure = businessFailureOf(
            error,
            `read refund ${request.refundId} of order "${request.orderId}"`,
          );
          return { outcome: "failed", refundId: request.refundId, ...failure };
        }
      }),
  };

  /**
   * What a PaymentIntent comes to: one that nobody here can complete is cancelled (a repeat of
   * the cancel, under the same derived key, replays its first answer); if Stripe refuses the
   * cancel (it moved on meanwhile), the intent is read once more and taken as it is then.
   */
  async function settleIntent(
    intent: Stripe.PaymentIntent,
    request: { orderId: string; idempotencyKey: string },
  ): Promise<ChargeResult> {
    const outcome = chargeOutcome(factsOf(intent));
    if (outcome.outcome !== "cancel") return outcome;
    try {
      await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: "abandoned" }, {
        idempotencyKey: `${request.idempotencyKey}-cancel`,
      });
    } catch (error) {
      businessFailureOf(error, `cancel PaymentIntent ${intent.id} of order "${request.orderId}"`);
      const now = chargeOutcome(factsOf(await stripe.paymentIntents.retrieve(intent.id)));
      if (now.outcome === "cancel") {
        throw new Error(
          `Cannot cancel PaymentIntent ${intent.id} of order "${request.orderId}": Stripe refused, and it is still ${intent.status}`,
          { cause: error },
        );
      }
      return now.outcome === "failed" ? { ...now, outcome: "failed" } : now;
    }
    return {
      outcome: "failed",
      paymentIntentId: outcome.paymentIntentId,
      code: outcome.code,
      reason: `${outcome.reason}; it was cancelled`,
    };
  }
}

function factsOf(intent: Stripe.PaymentIntent) {
  const error = intent.last_payment_error;
  return {
    id: intent.id,
    status: intent.status,
    amount: intent.amount,
    lastPaymentError: error === null || error === undefined ? null : {
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.decline_code === undefined ? {} : { declineCode: error.decline_code }),
      ...(error.message === undefined ? {} : { message: error.message }),
    },
  };
}

function refundResultOf(refund: Stripe.Refund): RefundResult {
  const result = refundOutcome({
    id: refund.id,
    status: refund.status,
    amount: refund.amount,
    failureReason: refund.failure_reason,
  });
  return result.outcome === "failed"
    ? { outcome: "failed", refundId: result.refundId, code: result.code, reason: result.reason }
    : result;
}

function metadataOf(request: { orderId: string; sagaId?: string }): Record<string, string> {
  return request.sagaId === undefined
    ? { orderId: request.orderId }
    : { orderId: request.orderId, sagaId: request.sagaId };
}

/** Returns the business failure an SDK error stands for; throws for anything else. */
function businessFailureOf(
  error: unknown,
  doing: string,
): Extract<StripeErrorClass, { kind: "business" }> {
  if (!(error instanceof Stripe.errors.StripeError)) throw error;
  const classified = classifyStripeError({
    type: error.type,
    statusCode: error.statusCode,
    code: error.code,
    declineCode: error.decline_code,
    message: error.message,
  });
  switch (classified.kind) {
    case "business":
      return classified;
    case "infrastructure":
      throw new InfrastructureError(`Cannot ${doing} through Stripe: ${classified.reason}`, {
        cause: error,
      });
    case "unexpected":
      throw new Error(`Cannot ${doing} through Stripe: ${classified.reason}`, { cause: error });
  }
}
