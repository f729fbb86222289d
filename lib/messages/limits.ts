/**
 * The limits of DESIGN §3, checked where a record is decoded: one place for each number, so the
 * schemas, the error messages and the tests agree. Inside them no sum of money or quantities
 * overflows a PostgreSQL `int` column or leaves JavaScript's safe integers.
 */

/** Every limit of the wire contract. */
export const LIMITS = {
  /** Lines in one order. */
  linesPerOrder: 100,
  /** Units on one line, inclusive bounds. */
  quantityPerLine: { min: 1, max: 10_000 },
  /** The price of one unit in the currency's minor unit, inclusive bounds. */
  unitPriceCents: { min: 1, max: 99_999_999 },
  /** The order total in the currency's minor unit: Stripe's maximum charge. */
  orderTotalCents: 99_999_999,
  /** Bytes of a record value once decompressed (UTF-8). */
  recordValueBytes: 256 * 1024,
} as const;

/** UTF-8 length of `text` in bytes, without encoding it when it is clearly short enough. */
export function utf8ByteLength(text: string, atMost: number): number {
  // A UTF-16 code unit takes at most 3 bytes in UTF-8: short strings need no encoding.
  if (text.length * 3 <= atMost) return text.length;
  return new TextEncoder().encode(text).length;
}
