import assert from "node:assert/strict";
import fc from "fast-check";
import { decideRelease, decideReserve, mergeLines, type Reservation } from "./decide.ts";

const order = "o-1";
const [a, b] = ["aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"];

Deno.test("decideReserve() reserves every line when each product has enough stock", () => {
  const decision = decideReserve(order, null, new Map([[a, 5], [b, 1]]), [
    { productId: b, quantity: 1 },
    { productId: a, quantity: 5 },
  ]);
  assert.deepEqual(decision, {
    kind: "reserve",
    lines: [{ productId: a, quantity: 5 }, { productId: b, quantity: 1 }],
  });
});

Deno.test("decideReserve() refuses the whole order when one product is short", () => {
  const decision = decideReserve(order, null, new Map([[a, 5], [b, 0]]), [
    { productId: a, quantity: 1 },
    { productId: b, quantity: 1 },
  ]);
  assert.deepEqual(decision, {
    kind: "refuse",
    code: "insufficient_stock",
    reason: `Cannot reserve stock for order "o-1": product "${b}" has 0 left, 1 wanted`,
  });
});

Deno.test("decideReserve() counts a product named twice once, with both quantities", () => {
  const decision = decideReserve(order, null, new Map([[a, 3]]), [
    { productId: a, quantity: 2 },
    { productId: a, quantity: 2 },
  ]);
  assert.equal(decision.kind, "refuse");
});

Deno.test("decideReserve() refuses an unknown product with its own code", () => {
  const decision = decideReserve(order, null, new Map(), [{ productId: a, quantity: 1 }]);
  assert.equal(decision.kind === "refuse" && decision.code, "unknown_product");
});

Deno.test("decideReserve() refuses a reservation that a tombstone already released", () => {
  const tombstone: Reservation = { status: "RELEASED", lines: [] };
  const decision = decideReserve(order, tombstone, new Map([[a, 9]]), [{
    productId: a,
    quantity: 1,
  }]);
  assert.equal(decision.kind === "refuse" && decision.code, "reservation_released");
});

Deno.test("decideReserve() answers an order reserved already without reserving twice", () => {
  const held: Reservation = { status: "RESERVED", lines: [{ productId: a, quantity: 1 }] };
  assert.deepEqual(decideReserve(order, held, new Map([[a, 9]]), [{ productId: a, quantity: 1 }]), {
    kind: "already-reserved",
  });
});

Deno.test("decideRelease() undoes a reservation, leaves a tombstone for none, and releases once", () => {
  const lines = [{ productId: a, quantity: 2 }];
  assert.deepEqual(decideRelease({ status: "RESERVED", lines }), { kind: "release", lines });
  assert.deepEqual(decideRelease(null), { kind: "tombstone" });
  assert.deepEqual(decideRelease({ status: "RELEASED", lines }), { kind: "already-released" });
});

Deno.test("decideReserve() never reserves more than is available, for any stock and order", () => {
  const product = fc.constantFrom(a, b, "cccccccc-0000-4000-8000-000000000000");
  fc.assert(fc.property(
    fc.dictionary(product, fc.nat(10)),
    fc.array(fc.record({ productId: product, quantity: fc.integer({ min: 1, max: 10 }) }), {
      minLength: 1,
    }),
    (stock, items) => {
      const available = new Map(Object.entries(stock));
      const decision = decideReserve(order, null, available, items);
      const wanted = mergeLines(items);
      const fits = wanted.every((l) => (available.get(l.productId) ?? -1) >= l.quantity);
      assert.equal(decision.kind, fits ? "reserve" : "refuse");
      if (decision.kind === "reserve") {
        assert.equal(
          decision.lines.reduce((s, l) => s + l.quantity, 0),
          items.reduce((s, l) => s + l.quantity, 0),
        );
      }
    },
  ));
});
