/**
 * Stripe's test PaymentMethods that the test server knows, with the outcome each one produces.
 *
 * Outcomes at once: `pm_card_visa`, `pm_card_visa_debit`, `pm_card_mastercard` and
 * `pm_card_amex` succeed; `pm_card_chargeDeclined`, `pm_card_insufficientFunds`,
 * `pm_card_chargeDeclinedLostCard`, `…StolenCard`, `…ExpiredCard` and `…ProcessingError`
 * decline (402 `card_error`); `pm_card_refundFail` charges, and its refunds fail at once.
 *
 * Outcomes that come later (after the server's async delay, `STRIPE_TEST_ASYNC_DELAY`, 2 s by
 * default; seen by the next read, e.g. `GET /v1/payment_intents/:id`):
 * - `pm_card_authenticationRequired` (Stripe's own, a card that always asks for 3D Secure):
 *   confirm leaves the PaymentIntent in `requires_action` with a 3DS `next_action`; nobody
 *   authenticates here, so it stays there until it is cancelled and never charges.
 * - `pm_processing_succeeds` and `pm_processing_fails` (not Stripe's: Stripe's asynchronous
 *   methods are bank debits, which this server does not model): confirm answers `processing`
 *   with a `pending` charge; after the delay the PaymentIntent is `succeeded` (the charge too),
 *   or `requires_payment_method` with `last_payment_error` (the charge `failed`), as Stripe does
 *   when an asynchronous payment fails.
 * - `pm_card_refundPendingFails` (not Stripe's): the charge succeeds; every refund of it is
 *   created `pending` and is `failed` with `failure_reason: "declined"` after the delay (or
 *   `succeeded`, when refund failures were switched off as it was created).
 *
 * @module
 */
import type { TestPaymentMethod } from "../../lib/orders/payment_methods.ts";

/** How a card declines: the error's `code`, `decline_code` and message, as Stripe sends them. */
export interface CardDecline {
  code: string;
  declineCode: string;
  message: string;
  sellerMessage: string;
  networkStatus: string;
  outcomeType: string;
}

/** What confirming a PaymentIntent with the card leaves for later. */
export type AsyncOutcome =
  /** `requires_action` (3D Secure) until cancelled. */
  | "requires_action"
  /** `processing`, then `succeeded` after the async delay. */
  | "processing_succeeds"
  /** `processing`, then `requires_payment_method` with `last_payment_error` after the delay. */
  | "processing_fails";

/** One test PaymentMethod: its card details and whether charging or refunding it fails. */
export interface TestCard {
  brand: string;
  last4: string;
  funding: "credit" | "debit";
  country: string;
  /** Set when a charge on this card is declined (later, for `processing_fails`). */
  decline?: CardDecline;
  /** Set when the charge succeeds but every refund of it fails with this `failure_reason`. */
  refundFailureReason?: string;
  /** Set when confirming does not settle the payment at once. */
  asyncOutcome?: AsyncOutcome;
  /** Set when every refund is `pending` at first, then fails with this `failure_reason`. */
  pendingRefundFailureReason?: string;
}

function declined(declineCode: string, message: string, code = "card_declined"): CardDecline {
  return {
    code,
    declineCode,
    message,
    sellerMessage: declineCode === "generic_decline"
      ? "The bank did not return any further details with this decline."
      : `The bank returned the decline code \`${declineCode}\`.`,
    networkStatus: "declined_by_network",
    outcomeType: "issuer_declined",
  };
}

/** Test PaymentMethod ids (`pm_card_…`) the server accepts; any other `payment_method` is missing. */
export const TEST_CARDS: Readonly<Record<TestPaymentMethod, TestCard>> = {
  pm_card_visa: { brand: "visa", last4: "4242", funding: "credit", country: "US" },
  pm_card_visa_debit: { brand: "visa", last4: "5556", funding: "debit", country: "US" },
  pm_card_mastercard: { brand: "mastercard", last4: "4444", funding: "credit", country: "US" },
  pm_card_amex: { brand: "amex", last4: "8431", funding: "credit", country: "US" },
  pm_card_chargeDeclined: {
    brand: "visa",
    last4: "0002",
    funding: "credit",
    country: "US",
    decline: declined("generic_decline", "Your card was declined."),
  },
  pm_card_insufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    country: "US",
    decline: declined("insufficient_funds", "Your card has insufficient funds."),
  },
  pm_card_chargeDeclinedLostCard: {
    brand: "visa",
    last4: "9987",
    funding: "credit",
    country: "US",
    decline: declined("lost_card", "Your card was declined."),
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: "visa",
    last4: "9979",
    funding: "credit",
    country: "US",
    decline: declined("stolen_card", "Your card was declined."),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    funding: "credit",
    country: "US",
    decline: declined("expired_card", "Your card has expired.", "expired_card"),
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: "visa",
    last4: "0119",
    funding: "credit",
    country: "US",
    decline: declined(
      "processing_error",
      "An error occurred while processing your card. Try again in a little bit.",
      "processing_error",
    ),
  },
  pm_card_refundFail: {
    brand: "visa",
    last4: "5126",
    funding: "credit",
    country: "US",
    refundFailureReason: "expired_or_canceled_card",
  },
  pm_card_authenticationRequired: {
    brand: "visa",
    last4: "3184",
    funding: "credit",
    country: "US",
    asyncOutcome: "requires_action",
  },
  pm_processing_succeeds: {
    brand: "visa",
    last4: "0077",
    funding: "credit",
    country: "US",
    asyncOutcome: "processing_succeeds",
  },
  pm_processing_fails: {
    brand: "visa",
    last4: "0085",
    funding: "credit",
    country: "US",
    asyncOutcome: "processing_fails",
    decline: declined("generic_decline", "Your card was declined."),
  },
  pm_card_refundPendingFails: {
    brand: "visa",
    last4: "0093",
    funding: "credit",
    country: "US",
    pendingRefundFailureReason: "declined",
  },
};

/** The test card with this PaymentMethod id, or undefined for any other string. */
export function findTestCard(paymentMethod: string): TestCard | undefined {
  return Object.hasOwn(TEST_CARDS, paymentMethod)
    ? TEST_CARDS[paymentMethod as TestPaymentMethod]
    : undefined;
}
