/**
 * The payment service's decisions, pure: what a charge or a refund command does given the
 * order's stored payment, and how Stripe's answers (objects and errors, reduced to plain facts)
 * become business outcomes or infrastructure faults. The handlers, the Stripe gateway and the
 * follower of outcomes still moving ask.
 *
 * Outcomes that are not final are never taken as final (DESIGN §5): a PaymentIntent `processing`
 * and a refund `pending` are followed until they are, and the commands of the order wait for
 * them unanswered; a PaymentIntent that waits for the customer (`requires_action`: 3D Secure)
 * or for another payment method is cancelled, since no customer session can complete it here.
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
  | {
    status: "PENDING";
    attempt: ChargeAttempt;
    /** The PaymentIntent Stripe answered `processing`: followed until it is final. */
    processingIntentId?: string;
  }
  | {
    status: "SUCCEEDED";
    paymentIntentId: string;
    amountCents: number;
    /** The key of a refund attempt whose outcome is not recorded yet. */
    refundAttemptKey?: string;
    /** The refund Stripe answered `pending` under that key: followed until it is final. */
    pendingRefundId?: string;
    /** The refund of the command being decided, failed once it was final: it answers so. */
    ownRefundFailure?: Failure;
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
  | ({ kind: "refuse" } & Failure)
  /** The charge is `processing`: answered once it is final. */
  | { kind: "await"; paymentIntentId: string };

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
  | { kind: "already-refunded"; refundId: string | null; amountCents: number }
  /** Money may still move (a charge `processing`, a refund `pending`): answered once final. */
  | { kind: "await"; waitingFor: string }
  /** This command's refund failed once it was final. */
  | ({ kind: "refund-failed" } & Failure);

/**
 * How long the follower waits before reading a non-final outcome again, after `polls` reads
 * that found it still moving: `initialMs`, doubled each time, at most `maxMs`.
 */
export function followDelayMs(polls: number, policy: { initialMs: number; maxMs: number }): number {
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(polls, 0), 30));
}

/** Decides a charge given the order's stored payment (if any). */
export function decideCharge(orderId: string, existing: Payment | null): ChargeDecision {
  switch (existing?.status) {
    case undefined:
      return { kind: "charge" };
    case "PENDING":
      if (existing.processingIntentId !== undefined) {
        // Repeating the attempt would only replay Stripe's first answer, `processing`.
        return { kind: "await", paymentIntentId: existing.processingIntentId };
      }
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
      if (existing.processingIntentId !== undefined) {
        // A PaymentIntent `processing` cannot be cancelled: its outcome decides, once final.
        return { kind: "await", waitingFor: `PaymentIntent ${existing.processingIntentId}` };
      }
      // Not a tombstone: the charge may have gone through; its outcome decides.
      return { kind: "settle-charge", attempt: existing.attempt };
    case "SUCCEEDED":
      if (existing.ownRefundFailure !== undefined) {
        return { kind: "refund-failed", ...existing.ownRefundFailure };
      }
      if (existing.pendingRefundId !== undefined) {
        return { kind: "await", waitingFor: `refund ${existing.pendingRefundId}` };
      }
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

/** A PaymentIntent as the charge (or a later read) answered it. */
export interface IntentFacts {
  id: string;
  status: string;
  amount: number;
  /** Why an asynchronous payment failed (Stripe's `last_payment_error`), when it did. */
  lastPaymentError?: { code?: string; declineCode?: string; message?: string } | null;
}

/** What became of a charge that Stripe answered without an error. */
export type ChargeOutcome =
  | { outcome: "succeeded"; paymentIntentId: string; amountCents: number }
  /** Not final, and it cannot be cancelled: read it again later. */
  | { outcome: "processing"; paymentIntentId: string; amountCents: number }
  /** Not final, and nobody here can complete it: cancel it; then it failed so. */
  | ({ outcome: "cancel"; paymentIntentId: string } & Failure)
  | ({ outcome: "failed"; paymentIntentId: string } & Failure);

/** Other statuses in which a PaymentIntent waits for a step this service never takes. */
const CANCELLABLE = new Set(["requires_confirmation", "requires_capture"]);

/**
 * Reads a confirmed PaymentIntent: `succeeded`; `processing` (followed); one waiting for the
 * customer or another payment method (to be cancelled, then failed); or failed.
 */
export function chargeOutcome(intent: IntentFacts): ChargeOutcome {
  const paymentIntentId = intent.id;
  switch (intent.status) {
    case "succeeded":
      return { outcome: "succeeded", paymentIntentId, amountCents: intent.amount };
    case "processing":
      return { outcome: "processing", paymentIntentId, amountCents: intent.amount };
    case "requires_action":
      return {
        outcome: "cancel",
        paymentIntentId,
        code: "authentication_required",
        reason:
          `PaymentIntent ${intent.id} requires customer authentication, which a server-side charge cannot complete`,
      };
    case "requires_payment_method": {
      const error = intent.lastPaymentError ?? undefined;
      return {
        outcome: "cancel",
        paymentIntentId,
        code: nonEmpty(error?.declineCode) ?? nonEmpty(error?.code) ?? "payment_failed",
        reason: `PaymentIntent ${intent.id} failed${
          nonEmpty(error?.message) === undefined ? "" : `: ${error!.message}`
        }`,
      };
    }
    case "canceled":
      return {
        outcome: "failed",
        paymentIntentId,
        code: "payment_intent_canceled",
        reason: `PaymentIntent ${intent.id} was cancelled`,
      };
  }
  return {
    outcome: CANCELLABLE.has(intent.status) ? "cancel" : "failed",
    paymentIntentId,
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
  /** Not final: read it again later. */
  | { outcome: "pending"; refundId: string; amountCents: number }
  | ({ outcome: "failed"; refundId: string; amountCents: number } & Failure);

/**
 * Reads a refund: `succeeded` undoes the charge; `pending` (or `requires_action`) is not final
 * and is followed; anything else (`failed`, `canceled`) is a failure.
 */
export function refundOutcome(refund: RefundFacts): RefundOutcome {
  if (refund.status === "succeeded") {
    return { outcome: "succeeded", refundId: refund.id, amountCents: refund.amount };
  }
  if (refund.status === "pending" || refund.status === "requires_action") {
    return { outcome: "pending", refundId: refund.id, amountCents: refund.amount };
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
