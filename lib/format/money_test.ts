import assert from "node:assert/strict";
import fc from "fast-check";
import { formatMoney } from "./money.ts";

const formatted: Array<[number | bigint, string, string]> = [
  [1999, "usd", "$19.99"],
  [5, "usd", "$0.05"],
  [0, "usd", "$0.00"],
  [123456789, "usd", "$1,234,567.89"],
  [1234, "eur", "€12.34"],
  [1234, "gbp", "£12.34"],
  [500, "jpy", "¥500"],
  [1234, "bhd", "BHD\u00a01.234"],
  [1234, "chf", "CHF\u00a012.34"],
  [9_007_199_254_740_993n, "usd", "$90,071,992,547,409.93"],
];
for (const [amount, currency, expected] of formatted) {
  Deno.test(`formatMoney() writes ${amount} ${currency} as ${expected}`, () => {
    assert.equal(formatMoney(amount, currency), expected);
  });
}

Deno.test("formatMoney() upper-cases the currency code", () => {
  assert.equal(formatMoney(1999, "usd"), formatMoney(1999, "USD"));
  assert.equal(formatMoney(100, "xts"), "XTS\u00a01.00");
});

Deno.test("formatMoney() agrees with Intl.NumberFormat on cents for any amount in a safe range", () => {
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (cents) => {
    assert.equal(formatMoney(cents, "usd"), usd.format(cents / 100));
  }));
});

Deno.test("formatMoney() writes any currency as a fresh Intl.NumberFormat does, whatever it formatted before", () => {
  // Formatters are cached per currency: interleave currencies, come back to them, and go past
  // the cache's size, comparing each result with a formatter built for that call.
  const fresh = (minorUnits: number, currency: string) => {
    const format = new Intl.NumberFormat("en-US", { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(minorUnits / 10 ** digits);
  };
  fc.assert(fc.property(
    fc.array(
      fc.tuple(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.oneof(fc.constantFrom("usd", "jpy", "bhd", "eur"), fc.stringMatching(/^[a-z]{3}$/)),
      ),
      { minLength: 1, maxLength: 200 },
    ),
    (calls) => {
      for (const [minorUnits, currency] of calls) {
        assert.equal(
          formatMoney(minorUnits, currency),
          fresh(minorUnits, currency.toUpperCase()),
        );
      }
    },
  ));
});

Deno.test("formatMoney() refuses a malformed currency code every time", () => {
  for (let i = 0; i < 2; i++) {
    assert.throws(() => formatMoney(100, "us"), RangeError);
  }
});
