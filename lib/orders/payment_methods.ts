/**
 * The test PaymentMethod ids an order may carry in test mode: Stripe's own (`pm_card_…`) and the
 * few asynchronous ones the project's Stripe test server adds. `sagactl` completes them; the test
 * server gives each its outcome (it must cover exactly this list: its card table is keyed by it).
 *
 * @module
 */

/** Every test PaymentMethod id, Stripe's first, then the test server's own asynchronous ones. */
export const TEST_PAYMENT_METHODS = [
  "pm_card_visa",
  "pm_card_visa_debit",
  "pm_card_mastercard",
  "pm_card_amex",
  "pm_card_chargeDeclined",
  "pm_card_insufficientFunds",
  "pm_card_chargeDeclinedLostCard",
  "pm_card_chargeDeclinedStolenCard",
  "pm_card_chargeDeclinedExpiredCard",
  "pm_card_chargeDeclinedProcessingError",
  "pm_card_refundFail",
  "pm_card_authenticationRequired",
  "pm_processing_succeeds",
  "pm_processing_fails",
  "pm_card_refundPendingFails",
] as const;

/** One test PaymentMethod id. */
export type TestPaymentMethod = typeof TEST_PAYMENT_METHODS[number];
