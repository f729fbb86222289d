/**
 * Stripe's test PaymentMethods that the test server knows, with the outcome each one produces.
 *
 * @module
 */

/** How a card declines: the error's `code`, `decline_code` and message, as Stripe sends them. */
export interface CardDecline {
  code: string;
  declineCode: string;
  message: string;
  sellerMessage: string;
  networkStatus: string;
  outcomeType: string;
}

/** One test PaymentMethod: its card details and whether charging or refunding it fails. */
export interface TestCard {
  brand: string;
  last4: string;
  funding: "credit" | "debit";
  country: string;
  /** Set when a charge on this card is declined. */
  decline?: CardDecline;
  /** Set when the charge succeeds but every refund of it fails with this `failure_reason`. */
  refundFailureReason?: string;
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
export const TEST_CARDS: Readonly<Record<string, TestCard>> = {
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
};
