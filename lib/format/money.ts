/**
 * Money as people read it: an amount in the currency's minor unit (cents for USD, yen for JPY,
 * fils for BHD) with the currency's symbol or code, exactly. The one formatter of the project:
 * sagactl's tables and the customer's confirmation both use it.
 */

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

/** `1999n, 2` → `"19.99"`: a decimal string Intl.NumberFormat formats without rounding errors. */
function toDecimal(minorUnits: bigint, digits: number): Intl.StringNumericLiteral {
  const sign = minorUnits < 0n ? "-" : "";
  const magnitude = (minorUnits < 0n ? -minorUnits : minorUnits).toString();
  if (digits === 0) return `${sign}${magnitude}` as Intl.StringNumericLiteral;
  const padded = magnitude.padStart(digits + 1, "0");
  return `${sign}${padded.slice(0, -digits)}.${padded.slice(-digits)}` as Intl.StringNumericLiteral;
}
