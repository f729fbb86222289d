import assert from "node:assert/strict";
import fc from "fast-check";
import {
  chargeOutcome,
  classifyStripeError,
  decideCharge,
  decideRefund,
  followDelayMs,
  type Payment,
  refundOutcome,
  type StripeErrorFacts,
} from "./decide.ts";

const order = "0b6f2a52-6a83-4b55-9d8e-9a5d8f3f5c01";
const succeeded: Payment = { status: "SUCCEEDED", paymentIntentId: "pi_1", amountCents: 4250 };
const refunded: Payment = {
  status: "REFUNDED",
  paymentIntentId: "pi_1",
  amountCents: 4250,
  refundId: "re_1",
  refundedCents: 4250,
};
const declined: Payment = {
  status: "DECLINED",
  failureCode: "insufficient_funds",
  failureReason: "Your card has insufficient funds.",
};
const tombstone: Payment = { status: "CANCELLED" };
const attempt = {
  key: "6a1f0c4e-0001-4000-8000-00000000000a",
  amountCents: 4250,
  currency: "usd",
  paymentMethod: "pm_card_visa",
};
const pending: Payment = { status: "PENDING", attempt };
const refunding: Payment = {
  ...succeeded,
  refundAttemptKey: "6a1f0c4e-0001-4000-8000-00000000000b",
};
const processing: Payment = { status: "PENDING", attempt, processingIntentId: "pi_1" };
const refundPending: Payment = { ...refunding, pendingRefundId: "re_1" };
const refundFailedOnce: Payment = {
  ...succeeded,
  ownRefundFailure: { code: "declined", reason: 'Refund re_1 ended in status "failed": declined' },
};

Deno.test("decideCharge() decides every stored payment state", () => {
  const cases: Array<[string, Payment | null, ReturnType<typeof decideCharge>]> = [
    ["no payment yet: charge", null, { kind: "charge" }],
    ["an attempt unanswered: repeat it as recorded", pending, { kind: "resume", attempt }],
    ["a PaymentIntent processing: wait, no second call (it would replay processing)", processing, {
      kind: "await",
      paymentIntentId: "pi_1",
    }],
    ["charged already: answer again without charging", succeeded, {
      kind: "already-charged",
      paymentIntentId: "pi_1",
      amountCents: 4250,
    }],
    ["declined already: the same failure again", declined, {
      kind: "refuse",
      code: "insufficient_funds",
      reason: "Your card has insufficient funds.",
    }],
    ["a tombstone: payment_cancelled", tombstone, {
      kind: "refuse",
      code: "payment_cancelled",
      reason: `Cannot charge order "${order}": its payment was cancelled before the charge`,
    }],
    ["refunded already: payment_refunded", refunded, {
      kind: "refuse",
      code: "payment_refunded",
      reason: `Cannot charge order "${order}": its payment was already refunded`,
    }],
  ];
  for (const [when, existing, expected] of cases) {
    assert.deepEqual(decideCharge(order, existing), expected, when);
  }
});

Deno.test("decideRefund() decides every stored payment state", () => {
  const cases: Array<[string, Payment | null, ReturnType<typeof decideRefund>]> = [
    ["no payment yet: leave a tombstone", null, { kind: "tombstone" }],
    ["charged: refund the intent in full", succeeded, {
      kind: "refund",
      paymentIntentId: "pi_1",
      amountCents: 4250,
      attemptKey: null,
    }],
    ["a refund attempt unanswered: repeat it under its key", refunding, {
      kind: "refund",
      paymentIntentId: "pi_1",
      amountCents: 4250,
      attemptKey: "6a1f0c4e-0001-4000-8000-00000000000b",
    }],
    ["a charge attempt unanswered: settle it first, never a tombstone", pending, {
      kind: "settle-charge",
      attempt,
    }],
    ["a PaymentIntent processing cannot be cancelled: wait for it to be final", processing, {
      kind: "await",
      waitingFor: "PaymentIntent pi_1",
    }],
    ["a refund pending: wait for it to be final, no second refund", refundPending, {
      kind: "await",
      waitingFor: "refund re_1",
    }],
    ["this command's refund failed once final: answer the failure", refundFailedOnce, {
      kind: "refund-failed",
      code: "declined",
      reason: 'Refund re_1 ended in status "failed": declined',
    }],
    ["refunded already: answer with the first refund", refunded, {
      kind: "already-refunded",
      refundId: "re_1",
      amountCents: 4250,
    }],
    ["declined: nothing to undo", declined, { kind: "nothing-to-refund" }],
    ["a tombstone already: nothing to undo", tombstone, { kind: "nothing-to-refund" }],
  ];
  for (const [when, existing, expected] of cases) {
    assert.deepEqual(decideRefund(existing), expected, when);
  }
});

Deno.test("decideCharge() calls Stripe only when the order has no payment or an unanswered attempt, for any state", () => {
  const payment = fc.option(
    fc.constantFrom<Payment>(
      succeeded,
      refunding,
      refunded,
      declined,
      tombstone,
      pending,
      processing,
      refundPending,
      refundFailedOnce,
    ),
    { nil: null },
  );
  fc.assert(fc.property(payment, (existing) => {
    const charging = decideCharge(order, existing).kind;
    const moving = existing === processing || existing === refundPending;
    assert.equal(charging === "charge", existing === null);
    assert.equal(charging === "resume", existing === pending);
    assert.equal(
      decideRefund(existing).kind === "refund",
      existing?.status === "SUCCEEDED" && !moving && existing !== refundFailedOnce,
    );
    assert.equal(decideRefund(existing).kind === "tombstone", existing === null);
    // Money that may still move is never answered: neither a charge nor a refund is.
    assert.equal(decideRefund(existing).kind === "await", moving);
    assert.equal(charging === "await", existing === processing);
  }));
});

const errorCases: Array<[string, StripeErrorFacts, ReturnType<typeof classifyStripeError>]> = [
  [
    "a generic card decline uses its decline_code",
    {
      type: "StripeCardError",
      statusCode: 402,
      code: "card_declined",
      declineCode: "generic_decline",
      message: "Your card was declined.",
    },
    {
      kind: "business",
      declined: true,
      code: "generic_decline",
      reason: "Your card was declined.",
    },
  ],
  [
    "insufficient funds uses its decline_code",
    {
      type: "StripeCardError",
      statusCode: 402,
      code: "card_declined",
      declineCode: "insufficient_funds",
      message: "Your card has insufficient funds.",
    },
    {
      kind: "business",
      declined: true,
      code: "insufficient_funds",
      reason: "Your card has insufficient funds.",
    },
  ],
  [
    "a card error whose decline_code the SDK left empty uses its code",
    {
      type: "StripeCardError",
      statusCode: 402,
      code: "expired_card",
      declineCode: "",
      message: "Your card has expired.",
    },
    { kind: "business", declined: true, code: "expired_card", reason: "Your card has expired." },
  ],
  [
    "a card error with no code at all is card_declined",
    { type: "StripeCardError", statusCode: 402, message: "Declined." },
    { kind: "business", declined: true, code: "card_declined", reason: "Declined." },
  ],
  [
    "an unknown payment method is a business failure with its code",
    {
      type: "StripeInvalidRequestError",
      statusCode: 400,
      code: "resource_missing",
      message: "No such PaymentMethod: 'pm_nope'",
    },
    {
      kind: "business",
      declined: false,
      code: "resource_missing",
      reason: "No such PaymentMethod: 'pm_nope'",
    },
  ],
  [
    "an invalid request without a code is invalid_request",
    { type: "StripeInvalidRequestError", statusCode: 400, message: "Bad." },
    { kind: "business", declined: false, code: "invalid_request", reason: "Bad." },
  ],
  [
    "a 500 api_error is infrastructure",
    { type: "StripeAPIError", statusCode: 500, message: "An unknown error occurred" },
    { kind: "infrastructure", reason: "StripeAPIError: An unknown error occurred" },
  ],
  [
    "a connection error or timeout is infrastructure",
    { type: "StripeConnectionError", message: "Request aborted due to timeout being reached" },
    {
      kind: "infrastructure",
      reason: "StripeConnectionError: Request aborted due to timeout being reached",
    },
  ],
  [
    "a rate limit is infrastructure",
    { type: "StripeRateLimitError", statusCode: 429, message: "Too many requests" },
    { kind: "infrastructure", reason: "StripeRateLimitError: Too many requests" },
  ],
  [
    "a rejected API key is infrastructure (fixed by the operator, then retried)",
    { type: "StripeAuthenticationError", statusCode: 401, message: "Invalid API Key provided" },
    { kind: "infrastructure", reason: "StripeAuthenticationError: Invalid API Key provided" },
  ],
  [
    "a key without permission is infrastructure",
    { type: "StripePermissionError", statusCode: 403, message: "" },
    {
      kind: "infrastructure",
      reason: "StripePermissionError: StripePermissionError without a message",
    },
  ],
  [
    "an unknown error class answering 5xx is infrastructure",
    { type: "StripeSomethingNewError", statusCode: 503, message: "Unavailable" },
    { kind: "infrastructure", reason: "StripeSomethingNewError: Unavailable" },
  ],
  [
    "an idempotency key reused with other parameters is unexpected",
    { type: "StripeIdempotencyError", statusCode: 400, message: "Keys for idempotent requests" },
    { kind: "unexpected", reason: "StripeIdempotencyError: Keys for idempotent requests" },
  ],
  [
    "an unknown error class without a status is unexpected",
    { type: "StripeSignatureVerificationError", message: "No signature" },
    { kind: "unexpected", reason: "StripeSignatureVerificationError: No signature" },
  ],
];
for (const [when, facts, expected] of errorCases) {
  Deno.test(`classifyStripeError() says ${when}`, () => {
    assert.deepEqual(classifyStripeError(facts), expected);
  });
}

Deno.test("chargeOutcome() reads every PaymentIntent status: taken, followed, to be cancelled, or failed", () => {
  const cases: Array<[Parameters<typeof chargeOutcome>[0], ReturnType<typeof chargeOutcome>]> = [
    [{ id: "pi_1", status: "succeeded", amount: 999 }, {
      outcome: "succeeded",
      paymentIntentId: "pi_1",
      amountCents: 999,
    }],
    [{ id: "pi_1", status: "processing", amount: 999 }, {
      outcome: "processing",
      paymentIntentId: "pi_1",
      amountCents: 999,
    }],
    [{ id: "pi_2", status: "requires_action", amount: 999 }, {
      outcome: "cancel",
      paymentIntentId: "pi_2",
      code: "authentication_required",
      reason:
        "PaymentIntent pi_2 requires customer authentication, which a server-side charge cannot complete",
    }],
    [{
      id: "pi_4",
      status: "requires_payment_method",
      amount: 1,
      lastPaymentError: { code: "card_declined", declineCode: "generic_decline", message: "No." },
    }, {
      outcome: "cancel",
      paymentIntentId: "pi_4",
      code: "generic_decline",
      reason: "PaymentIntent pi_4 failed: No.",
    }],
    [{ id: "pi_4", status: "requires_payment_method", amount: 1, lastPaymentError: null }, {
      outcome: "cancel",
      paymentIntentId: "pi_4",
      code: "payment_failed",
      reason: "PaymentIntent pi_4 failed",
    }],
    [{ id: "pi_5", status: "canceled", amount: 1 }, {
      outcome: "failed",
      paymentIntentId: "pi_5",
      code: "payment_intent_canceled",
      reason: "PaymentIntent pi_5 was cancelled",
    }],
  ];
  for (const [intent, expected] of cases) {
    assert.deepEqual(chargeOutcome(intent), expected, intent.status);
  }
  for (
    const [status, outcome] of [
      ["requires_confirmation", "cancel"],
      ["requires_capture", "cancel"],
      [
        "something_new",
        "failed",
      ],
    ] as const
  ) {
    assert.deepEqual(chargeOutcome({ id: "pi_3", status, amount: 1 }), {
      outcome,
      paymentIntentId: "pi_3",
      code: "payment_intent_unexpected_state",
      reason: `PaymentIntent pi_3 ended in status "${status}" instead of "succeeded"`,
    });
  }
});

Deno.test("followDelayMs() doubles the wait after each read that found the outcome moving, up to the cap", () => {
  const policy = { initialMs: 500, maxMs: 4_000 };
  assert.deepEqual([0, 1, 2, 3, 4, 50].map((polls) => followDelayMs(polls, policy)), [
    500,
    1_000,
    2_000,
    4_000,
    4_000,
    4_000,
  ]);
});

Deno.test("refundOutcome() reads succeeded as refunded, pending as not final, and uses failure_reason as the code", () => {
  assert.deepEqual(refundOutcome({ id: "re_1", status: "succeeded", amount: 500 }), {
    outcome: "succeeded",
    refundId: "re_1",
    amountCents: 500,
  });
  for (const status of ["pending", "requires_action"]) {
    assert.deepEqual(refundOutcome({ id: "re_1", status, amount: 500 }), {
      outcome: "pending",
      refundId: "re_1",
      amountCents: 500,
    });
  }
  assert.deepEqual(
    refundOutcome({
      id: "re_2",
      status: "failed",
      amount: 500,
      failureReason: "expired_or_canceled_card",
    }),
    {
      outcome: "failed",
      refundId: "re_2",
      amountCents: 500,
      code: "expired_or_canceled_card",
      reason: 'Refund re_2 ended in status "failed": expired_or_canceled_card',
    },
  );
  const failures: Array<[string | null, string | null | undefined]> = [
    ["failed", null],
    ["canceled", ""],
    [null, undefined],
  ];
  for (const [status, failureReason] of failures) {
    assert.deepEqual(refundOutcome({ id: "re_3", status, amount: 1, failureReason }), {
      outcome: "failed",
      refundId: "re_3",
      amountCents: 1,
      code: "refund_failed",
      reason: `Refund re_3 ended in status "${status}"`,
    });
  }
});
