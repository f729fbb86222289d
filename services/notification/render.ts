/**
 * The order confirmation, rendered purely from the `SEND_NOTIFICATION` command: a subject and a
 * plain-text body listing every item, the total in the order's currency and the full order id.
 */
import type { SendNotification } from "../../lib/messages/mod.ts";

/** A rendered confirmation, ready for a delivery channel. */
export interface RenderedNotification {
  recipient: string;
  subject: string;
  text: string;
}

/** The locale amounts are written in (fixed, so a confirmation renders the same everywhere). */
export const LOCALE = "en-US";

/**
 * Formats an amount in the currency's minor unit (cents for USD, yen for JPY, fils for BHD)
 * with the currency's symbol or code, exactly (no floating point on the way).
 */
export function formatMoney(minorUnits: number | bigint, currency: string): string {
  const { format, digits } = moneyFormat(currency.toUpperCase());
  return format.format(toDecimal(BigInt(minorUnits), digits));
}

/** A currency's formatter and its number of minor-unit digits. */
interface MoneyFormat {
  format: Intl.NumberFormat;
  digits: number;
}

/** Formatters by upper-case currency code: building one costs far more than using it. */
const moneyFormats = new Map<string, MoneyFormat>();

/** Enough for every currency a shop uses; past it the cache starts over (codes are 3 letters). */
const MAX_CACHED_FORMATS = 64;

function moneyFormat(currency: string): MoneyFormat {
  let cached = moneyFormats.get(currency);
  if (cached === undefined) {
    // Throws a RangeError for a malformed code, before anything is cached.
    const format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    cached = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    if (moneyFormats.size >= MAX_CACHED_FORMATS) moneyFormats.clear();
    moneyFormats.set(currency, cached);
  }
  return cached;
}

/** Renders the confirmation of an order. */
export function renderConfirmation(order: SendNotification): RenderedNotification {
  const money = (amount: number | bigint) => formatMoney(amount, order.currency);
  const lines = order.items.map((item) =>
    `  ${item.quantity} x product ${item.productId} at ${money(item.unitPriceCents)} each: ${
      money(BigInt(item.quantity) * BigInt(item.unitPriceCents))
    }`
  );
  const text = [
    "Hello,",
    "",
    "Thank you for your order. It is confirmed.",
    "",
    "Items:",
    ...lines,
    "",
    `Total: ${money(order.totalCents)}`,
    "",
    `Order id: ${order.orderId}`,
    "Please quote it if you write to us about this order.",
    "",
  ].join("\n");
  return {
    recipient: order.customerEmail,
    subject: `Order ${order.orderId.slice(0, 8)} confirmed`,
    text,
  };
}

/** `1999n, 2` → `"19.99"`: a decimal string Intl.NumberFormat formats without rounding errors. */
function toDecimal(minorUnits: bigint, digits: number): Intl.StringNumericLiteral {
  const sign = minorUnits < 0n ? "-" : "";
  const magnitude = (minorUnits < 0n ? -minorUnits : minorUnits).toString();
  if (digits === 0) return `${sign}${magnitude}` as Intl.StringNumericLiteral;
  const padded = magnitude.padStart(digits + 1, "0");
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}` as Intl.StringNumericLiteral;
}
