/**
 * The payment service's decisions, pure: what a charge or a refund command does given the
 * order's stored payment, and how Stripe's answers (objects and errors, reduced to plain facts)
 * become business outcomes or infrastructure faults. The handlers and the Stripe gateway ask.
 */

/**
 * A charge attempt, recorded before Stripe is called (DESIGN §5: atomic phases) and repeated as it
 * is, under the same idempotency key, until its outcome is recorded: Stripe answers a repeat with
 * the first answer, so an attempt never charges twice.
 */
export interface ChargeAttempt {
  /** The idempotency key: the eventId of the command that made the attempt. */
  key: string;
  amountCents: number;
  currency: string;
  paymentMethod: string;
}

/**
 * An order's payment as stored; `PENDING` is a charge attempt whose outcome is not recorded yet;
 * `CANCELLED` is a tombstone (a refund came before the charge).
 */
export type Payment =
  | { status: "PENDING"; attempt: ChargeAttempt }
  | {
    status: "SUCCEEDED";
    paymentIntentId: string;
    amountCents: number;
    /** The key of a refund attempt whose outcome is not recorded yet. */
    refundAttemptKey?: string;
  }
  | {
    status: "REFUNDED";
    paymentIntentId: string;
    amountCents: number;
    /** The succeeded refund that undid the charge. */
    refundId: string | null;
    refundedCents: number;
  }
  | { status: "DECLINED"; failureCode: string; failureReason: string }
  | { status: "CANCELLED" };

/** A business failure: the `code` and `reason` of a failure reply (DESIGN §3). */
export interface Failure {
  code: string;
  reason: string;
}

/** What to do with a `PROCESS_PAYMENT` command. */
export type ChargeDecision =
  /** Record a new attempt under the command's own eventId, then call Stripe. */
  | { kind: "charge" }
  /** Repeat the attempt recorded earlier (a crash, or a failed call, left it unanswered). */
  | { kind: "resume"; attempt: ChargeAttempt }
  | { kind: "already-charged"; paymentIntentId: string; amountCents: number }
  | ({ kind: "refuse" } & Failure);

/** What to do with a `REFUND_PAYMENT` command. */
export type RefundDecision =
  /**
   * Refund the intent: a new attempt under the command's eventId (`attemptKey` null), or the
   * attempt recorded earlier repeated under its key.
   */
  | { kind: "refund"; paymentIntentId: string; amountCents: number; attemptKey: string | null }
  /** A charge attempt is unanswered: repeat it to learn whether there is anything to refund. */
  | { kind: "settle-charge"; attempt: ChargeAttempt }
  | { kind: "tombstone" }
  | { kind: "nothing-to-refund" }
  | { kind: "already-refunded"; refundId: string | null; amountCents: number };

/** Decides a charge given the order's stored payment (if any). */
export function decideCharge(orderId: string, existing: Payment | null): ChargeDecision {
  switch (existing?.status) {
    case undefined:
      return { kind: "charge" };
    case "PENDING":
      return { kind: "resume", attempt: existing.attempt };
    case "SUCCEEDED":
      return {
        kind: "already-charged",
        paymentIntentId: existing.paymentIntentId,
        amountCents: existing.amountCents,
      };
    case "DECLINED":
      // The order's payment was decided already; a new command does not try the card again.
      return { kind: "refuse", code: existing.failureCode, reason: existing.failureReason };
    case "CANCELLED":
      return {
        kind: "refuse",
        code: "payment_cancelled",
        reason: `Cannot charge order "${orderId}": its payment was cancelled before the charge`,
      };
    case "REFUNDED":
      return {
        kind: "refuse",
        code: "payment_refunded",
        reason: `Cannot charge order "${orderId}": its payment was already refunded`,
      };
  }
}

/** Decides a refund given the order's stored payment (if any). */
export function decideRefund(existing: Payment | null): RefundDecision {
  switch (existing?.status) {
    case undefined:
      return { kind: "tombstone" };
    case "PENDING":
      // Not a tombstone: the charge may have gone through; its outcome decides.
      return { kind: "settle-charge", attempt: existing.attempt };
    case "SUCCEEDED":
      return {
        kind: "refund",
        paymentIntentId: existing.paymentIntentId,
        amountCents: existing.amountCents,
        attemptKey: existing.refundAttemptKey ?? null,
      };
    case "REFUNDED":
      return {
        kind: "already-refunded",
        refundId: existing.refundId,
        amountCents: existing.refundedCents,
      };
    case "DECLINED":
    case "CANCELLED":
      return { kind: "nothing-to-refund" };
  }
}

/** A Stripe error reduced to what the classification needs (the SDK's error, as plain data). */
export interface StripeErrorFacts {
  /** The SDK's error class name, e.g. `StripeCardError`. */
  type: string;
  statusCode?: number;
  code?: string;
  /** The SDK sets `""` on card errors without one. */
  declineCode?: string;
  message: string;
}

/** What a Stripe error means for the command. */
export type StripeErrorClass =
  /** A business outcome: a card decline, or a request Stripe refused (no retry can help). */
  | ({ kind: "business"; declined: boolean } & Failure)
  /** The call may have failed in passing (5xx, network, timeout, rate limit, credentials). */
  | { kind: "infrastructure"; reason: string }
  /** Neither: a conflict of idempotency keys or an error this service does not know. */
  | { kind: "unexpected"; reason: string };

const INFRASTRUCTURE_TYPES = new Set([
  "StripeAPIError",
  "StripeConnectionError",
  "StripeRateLimitError",
  "StripeAuthenticationError",
  "StripePermissionError",
]);

/** Classifies a Stripe error: business failure `{ code, reason }`, infrastructure, or unexpected. */
export function classifyStripeError(error: StripeErrorFacts): StripeErrorClass {
  const reason = error.message === "" ? `${error.type} without a message` : error.message;
  if (error.type === "StripeCardError") {
    return {
      kind: "business",
      declined: true,
      code: nonEmpty(error.declineCode) ?? nonEmpty(error.code) ?? "card_declined",
      reason,
    };
  }
  if (error.type === "StripeInvalidRequestError") {
    return {
      kind: "business",
      declined: false,
      code: nonEmpty(error.code) ?? "invalid_request",
      reason,
    };
  }
  if (INFRASTRUCTURE_TYPES.has(error.type) || (error.statusCode ?? 0) >= 500) {
    return { kind: "infrastructure", reason: `${error.type}: ${reason}` };
  }
  return { kind: "unexpected", reason: `${error.type}: ${reason}` };
}

/** A PaymentIntent as the charge answered it. */
export interface IntentFacts {
  id: string;
  status: string;
  amount: number;
}

/** What became of a charge that Stripe answered without an error. */
export type ChargeOutcome =
  | { outcome: "succeeded"; paymentIntentId: string; amountCents: number }
  | ({ outcome: "failed"; paymentIntentId: string } & Failure);

/** Reads a confirmed PaymentIntent: `succeeded`, or a business failure naming its status. */
export function chargeOutcome(intent: IntentFacts): ChargeOutcome {
  if (intent.status === "succeeded") {
    return { outcome: "succeeded", paymentIntentId: intent.id, amountCents: intent.amount };
  }
  if (intent.status === "requires_action") {
    return {
      outcome: "failed",
      paymentIntentId: intent.id,
      code: "authentication_required",
      reason:
        `PaymentIntent ${intent.id} requires customer authentication, which a server-side charge cannot complete`,
    };
  }
  return {
    outcome: "failed",
    paymentIntentId: intent.id,
    code: "payment_intent_unexpected_state",
    reason: `PaymentIntent ${intent.id} ended in status "${intent.status}" instead of "succeeded"`,
  };
}

/** A refund as Stripe answered it. */
export interface RefundFacts {
  id: string;
  status: string | null;
  amount: number;
  failureReason?: string | null;
}

/** What became of a refund that Stripe answered without an error. */
export type RefundOutcome =
  | { outcome: "succeeded"; refundId: string; amountCents: number }
  | ({ outcome: "failed"; refundId: string; amountCents: number } & Failure);

/** Reads a refund: `succeeded` or `pending` undo the charge; anything else is a failure. */
export function refundOutcome(refund: RefundFacts): RefundOutcome {
  if (refund.status === "succeeded" || refund.status === "pending") {
    return { outcome: "succeeded", refundId: refund.id, amountCents: refund.amount };
  }
  const why = nonEmpty(refund.failureReason ?? undefined);
  return {
    outcome: "failed",
    refundId: refund.id,
    amountCents: refund.amount,
    code: why ?? "refund_failed",
    reason: `Refund ${refund.id} ended in status "${refund.status}"${
      why === undefined ? "" : `: ${why}`
    }`,
  };
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}
