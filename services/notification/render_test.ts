import assert from "node:assert/strict";
import fc from "fast-check";
import type { SendNotification } from "../../lib/messages/mod.ts";
import { formatMoney } from "../../lib/format/money.ts";
import { renderConfirmation } from "./render.ts";

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
