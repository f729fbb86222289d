import assert from "node:assert/strict";
import fc from "fast-check";
import type { SendNotification } from "../../lib/messages/mod.ts";
import { formatMoney, renderConfirmation } from "./render.ts";

const orderId = "1234abcd-5678-4ef0-8123-456789abcdef";
const [mug, tee] = ["aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"];
const order: SendNotification = {
  orderId,
  customerEmail: "ada@shop.example",
  currency: "usd",
  totalCents: 4997,
  items: [
    { productId: mug, quantity: 2, unitPriceCents: 1999 },
    { productId: tee, quantity: 1, unitPriceCents: 999 },
  ],
};

Deno.test("renderConfirmation() names the short order id in the subject", () => {
  assert.equal(renderConfirmation(order).subject, "Order 1234abcd confirmed");
});

Deno.test("renderConfirmation() addresses the customer", () => {
  assert.equal(renderConfirmation(order).recipient, "ada@shop.example");
});

Deno.test("renderConfirmation() lists each item with quantity, unit price and line total, then the total and the order id", () => {
  assert.equal(
    renderConfirmation(order).text,
    [
      "Hello,",
      "",
      "Thank you for your order. It is confirmed.",
      "",
      "Items:",
      `  2 x product ${mug} at $19.99 each: $39.98`,
      `  1 x product ${tee} at $9.99 each: $9.99`,
      "",
      "Total: $49.97",
      "",
      `Order id: ${orderId}`,
      "Please quote it if you write to us about this order.",
      "",
    ].join("\n"),
  );
});

Deno.test("renderConfirmation() writes amounts in the order's currency", () => {
  const text = renderConfirmation({ ...order, currency: "eur" }).text;
  assert.match(text, /at €19\.99 each: €39\.98/);
  assert.match(text, /Total: €49\.97/);
});

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

const item = fc.record({
  productId: fc.uuid({ version: 4 }),
  quantity: fc.integer({ min: 1, max: 1000 }),
  unitPriceCents: fc.integer({ min: 1, max: 10_000_000 }),
});

Deno.test("renderConfirmation() renders every line, the total and the full order id, for any order", () => {
  fc.assert(fc.property(
    fc.uuid({ version: 4 }),
    fc.stringMatching(/^[a-z]{3}$/),
    fc.array(item, { minLength: 1, maxLength: 8 }),
    (id, currency, items) => {
      const totalCents = items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0);
      const rendered = renderConfirmation({
        orderId: id,
        customerEmail: "ada@shop.example",
        currency,
        totalCents,
        items,
      });
      assert.equal(rendered.subject, `Order ${id.slice(0, 8)} confirmed`);
      assert.ok(rendered.text.includes(`Order id: ${id}`));
      assert.ok(rendered.text.includes(`Total: ${formatMoney(totalCents, currency)}`));
      for (const i of items) {
        const line = `  ${i.quantity} x product ${i.productId} at ${
          formatMoney(i.unitPriceCents, currency)
        } each: ${formatMoney(i.quantity * i.unitPriceCents, currency)}`;
        assert.ok(rendered.text.includes(line), line);
      }
    },
  ));
});
