import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decideRelease,
  decideReserve,
  type InventoryState,
  type InventoryWrite,
  mergeLines,
  type OrderedLine,
  releaseIn,
  type Reservation,
  reserveIn,
  stockDeltas,
} from "./decide.ts";
import type { StockRow } from "../../lib/inventory/mod.ts";

const order = "o-1";
const [a, b] = ["aaaaaaaa-0000-4000-8000-000000000000", "bbbbbbbb-0000-4000-8000-000000000000"];
const PRICES: Record<string, number> = { [a]: 1_299, [b]: 3_999 };

/** The catalog rows: available stock per product, each at its price in PRICES. */
function catalog(available: Record<string, number>): Map<string, StockRow> {
  return new Map(
    Object.entries(available).map(([productId, left]) => [productId, {
      sku: productId === a ? "MUG-BLUE" : "BOOK-SAGAS",
      available: left,
      priceCents: PRICES[productId] ?? 100,
    }]),
  );
}

/** A line at the catalog's price. */
function line(productId: string, quantity: number): OrderedLine {
  return { productId, quantity, unitPriceCents: PRICES[productId] ?? 100 };
}

Deno.test("decideReserve() reserves every line when each product has enough stock", () => {
  const decision = decideReserve(order, null, catalog({ [a]: 5, [b]: 1 }), [
    line(b, 1),
    line(a, 5),
  ]);
  assert.deepEqual(decision, {
    kind: "reserve",
    lines: [{ productId: a, quantity: 5 }, { productId: b, quantity: 1 }],
  });
});

Deno.test("decideReserve() refuses the whole order when one product is short", () => {
  const decision = decideReserve(order, null, catalog({ [a]: 5, [b]: 0 }), [
    line(a, 1),
    line(b, 1),
  ]);
  assert.deepEqual(decision, {
    kind: "refuse",
    code: "insufficient_stock",
    reason: `Cannot reserve stock for order "o-1": product "${b}" has 0 left, 1 wanted`,
  });
});

Deno.test("decideReserve() counts a product named twice once, with both quantities", () => {
  const decision = decideReserve(order, null, catalog({ [a]: 3 }), [line(a, 2), line(a, 2)]);
  assert.equal(decision.kind, "refuse");
});

Deno.test("decideReserve() refuses an unknown product with its own code", () => {
  const decision = decideReserve(order, null, new Map(), [line(a, 1)]);
  assert.equal(decision.kind === "refuse" && decision.code, "unknown_product");
});

Deno.test("decideReserve() reserves only lines at the catalog's price (DESIGN §3: prices belong to inventory)", () => {
  const stock = () => catalog({ [a]: 10, [b]: 10 });
  const cases: {
    name: string;
    items: OrderedLine[];
    stock?: Map<string, StockRow>;
    expect: { kind: "reserve" } | { kind: "refuse"; code: string; reason?: string };
  }[] = [
    { name: "exact price", items: [line(a, 2)], expect: { kind: "reserve" } },
    {
      name: "exact price on every line of several",
      items: [line(a, 2), line(b, 1), line(a, 1)],
      expect: { kind: "reserve" },
    },
    {
      name: "higher than the catalog",
      items: [{ productId: a, quantity: 1, unitPriceCents: 1_300 }],
      expect: {
        kind: "refuse",
        code: "price_mismatch",
        reason:
          `Cannot reserve stock for order "o-1": product MUG-BLUE ("${a}") was ordered at 1300 cents a unit, the catalog price is 1299 cents`,
      },
    },
    {
      name: "lower than the catalog",
      items: [{ productId: b, quantity: 1, unitPriceCents: 1 }],
      expect: {
        kind: "refuse",
        code: "price_mismatch",
        reason:
          `Cannot reserve stock for order "o-1": product BOOK-SAGAS ("${b}") was ordered at 1 cent a unit, the catalog price is 3999 cents`,
      },
    },
    {
      name: "one line of several wrong",
      items: [line(a, 1), { productId: b, quantity: 1, unitPriceCents: 3_998 }, line(a, 1)],
      expect: { kind: "refuse", code: "price_mismatch" },
    },
    {
      name: "the same product twice, once at a wrong price",
      items: [line(a, 1), { productId: a, quantity: 1, unitPriceCents: 1 }],
      expect: {
        kind: "refuse",
        code: "price_mismatch",
        reason:
          `Cannot reserve stock for order "o-1": product MUG-BLUE ("${a}") was ordered at 1 cent a unit, the catalog price is 1299 cents`,
      },
    },
    {
      name: "several lines wrong: the first is named, the others counted",
      items: [
        { productId: b, quantity: 1, unitPriceCents: 1 },
        { productId: a, quantity: 1, unitPriceCents: 1 },
        { productId: a, quantity: 1, unitPriceCents: 2 },
      ],
      expect: {
        kind: "refuse",
        code: "price_mismatch",
        reason:
          `Cannot reserve stock for order "o-1": product BOOK-SAGAS ("${b}") was ordered at 1 cent a unit, the catalog price is 3999 cents (and 2 more lines at a price the catalog does not hold)`,
      },
    },
    {
      name: "a wrong price is refused even when stock is short too",
      items: [{ productId: a, quantity: 99, unitPriceCents: 1 }],
      expect: { kind: "refuse", code: "price_mismatch" },
    },
    {
      name: "an unknown product is still unknown_product, whatever its price",
      items: [line(a, 1), {
        productId: "cccccccc-0000-4000-8000-000000000000",
        quantity: 1,
        unitPriceCents: 1,
      }],
      expect: { kind: "refuse", code: "unknown_product" },
    },
  ];
  for (const c of cases) {
    const decision = decideReserve(order, null, c.stock ?? stock(), c.items);
    assert.equal(decision.kind, c.expect.kind, c.name);
    if (c.expect.kind === "refuse" && decision.kind === "refuse") {
      assert.equal(decision.code, c.expect.code, c.name);
      if (c.expect.reason !== undefined) assert.equal(decision.reason, c.expect.reason, c.name);
    }
    if (decision.kind === "reserve") {
      assert.deepEqual(decision.lines, mergeLines(c.items), `${c.name}: every line reserved`);
    }
  }
});

Deno.test("decideReserve() refuses a reservation that a tombstone already released", () => {
  const tombstone: Reservation = { status: "RELEASED", lines: [] };
  const decision = decideReserve(order, tombstone, catalog({ [a]: 9 }), [line(a, 1)]);
  assert.equal(decision.kind === "refuse" && decision.code, "reservation_released");
});

Deno.test("decideReserve() answers an order reserved already without reserving twice", () => {
  const held: Reservation = { status: "RESERVED", lines: [{ productId: a, quantity: 1 }] };
  assert.deepEqual(decideReserve(order, held, catalog({ [a]: 9 }), [line(a, 1)]), {
    kind: "already-reserved",
  });
});

Deno.test("decideRelease() undoes a reservation, leaves a tombstone for none, and releases once", () => {
  const lines = [{ productId: a, quantity: 2 }];
  assert.deepEqual(decideRelease({ status: "RESERVED", lines }), { kind: "release", lines });
  assert.deepEqual(decideRelease(null), { kind: "tombstone" });
  assert.deepEqual(decideRelease({ status: "RELEASED", lines }), { kind: "already-released" });
});

Deno.test("decideReserve() never reserves more than is available, nor at a price the catalog does not hold", () => {
  const product = fc.constantFrom(a, b, "cccccccc-0000-4000-8000-000000000000");
  fc.assert(fc.property(
    fc.dictionary(product, fc.nat(10)),
    fc.array(
      fc.record({
        productId: product,
        quantity: fc.integer({ min: 1, max: 10 }),
        // Mostly the catalog's price, sometimes one cent off either way.
        priceOffset: fc.constantFrom(0, 0, 0, -1, 1),
      }),
      { minLength: 1 },
    ),
    (available, drawn) => {
      const stock = catalog(available);
      const items = drawn.map(({ productId, quantity, priceOffset }) => ({
        productId,
        quantity,
        unitPriceCents: (PRICES[productId] ?? 100) + priceOffset,
      }));
      const decision = decideReserve(order, null, stock, items);
      const wanted = mergeLines(items);
      const fits = wanted.every((l) => (stock.get(l.productId)?.available ?? -1) >= l.quantity) &&
        items.every((i) => stock.get(i.productId)?.priceCents === i.unitPriceCents);
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

/** A chunk's state: no reservation for `orders`, the stock of `catalog`. */
function chunkState(available: Record<string, number>, orders: readonly string[]): InventoryState {
  return { reservations: new Map(orders.map((id) => [id, null])), stock: catalog(available) };
}

Deno.test("reserveIn() takes the lines out of the chunk's stock for the next command, and writes the reservation", () => {
  const state = chunkState({ [a]: 5, [b]: 1 }, ["o-1", "o-2"]);
  const first = reserveIn(state, "o-1", [line(a, 3), line(b, 1)]);
  assert.equal(first.decision.kind, "reserve");
  assert.deepEqual(first.writes, [{
    kind: "reserve",
    orderId: "o-1",
    lines: [{ productId: a, quantity: 3 }, { productId: b, quantity: 1 }],
  }]);
  assert.equal(first.state.stock.get(a)?.available, 2);
  assert.equal(first.state.reservations.get("o-1")?.status, "RESERVED");
  assert.equal(state.stock.get(a)?.available, 5, "the state before is left as it was");
  const second = reserveIn(first.state, "o-2", [line(b, 1)]);
  assert.equal(second.decision.kind, "refuse", "the last unit of b went to o-1");
  assert.deepEqual(second.writes, []);
  assert.equal(second.state, first.state);
  assert.equal(reserveIn(first.state, "o-1", [line(a, 1)]).decision.kind, "already-reserved");
});

Deno.test("releaseIn() gives a reservation made earlier in the chunk back, writes a tombstone for none, and releases once", () => {
  const reserved = reserveIn(chunkState({ [a]: 5 }, ["o-1", "o-2"]), "o-1", [line(a, 2)]).state;
  const released = releaseIn(reserved, "o-1");
  assert.equal(released.decision.kind, "release");
  assert.equal(released.state.stock.get(a)?.available, 5);
  assert.deepEqual(released.writes, [{
    kind: "release",
    orderId: "o-1",
    lines: [{ productId: a, quantity: 2 }],
  }]);
  assert.equal(releaseIn(released.state, "o-1").decision.kind, "already-released");
  assert.deepEqual(releaseIn(released.state, "o-1").writes, []);
  const tombstone = releaseIn(reserved, "o-2");
  assert.deepEqual(tombstone.writes, [{ kind: "tombstone", orderId: "o-2" }]);
  assert.equal(reserveIn(tombstone.state, "o-2", [line(a, 1)]).decision.kind, "refuse");
});

Deno.test("stockDeltas() nets a chunk's changes per product, whatever the spelling of its id, and drops those that cancel", () => {
  const writes: InventoryWrite[] = [
    {
      kind: "reserve",
      orderId: "o-1",
      lines: [{ productId: a, quantity: 2 }, { productId: b, quantity: 1 }],
    },
    { kind: "tombstone", orderId: "o-2" },
    { kind: "release", orderId: "o-3", lines: [{ productId: a.toUpperCase(), quantity: 5 }] },
    { kind: "release", orderId: "o-1", lines: [{ productId: b, quantity: 1 }] },
  ];
  assert.deepEqual(stockDeltas(writes), new Map([[a, 3]]));
  assert.deepEqual(stockDeltas([]), new Map());
});

Deno.test("a chunk decided command by command never oversells, and its writes net to exactly the stock it leaves", () => {
  const orders = ["o-1", "o-2", "o-3", "o-4"];
  const command = fc.oneof(
    fc.record({
      kind: fc.constant("reserve" as const),
      order: fc.constantFrom(...orders),
      items: fc.array(
        fc.record({ product: fc.constantFrom(a, b), quantity: fc.integer({ min: 1, max: 4 }) }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    fc.record({ kind: fc.constant("release" as const), order: fc.constantFrom(...orders) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.array(command, { maxLength: 12 }),
      (stockA, stockB, chunk) => {
        const initial = chunkState({ [a]: stockA, [b]: stockB }, orders);
        let state = initial;
        const writes: InventoryWrite[] = [];
        for (const c of chunk) {
          const applied = c.kind === "reserve"
            ? reserveIn(state, c.order, c.items.map((i) => line(i.product, i.quantity)))
            : releaseIn(state, c.order);
          state = applied.state;
          writes.push(...applied.writes);
          for (const row of state.stock.values()) assert.ok(row.available >= 0);
        }
        const deltas = stockDeltas(writes);
        for (const product of [a, b]) {
          assert.equal(
            state.stock.get(product)!.available,
            initial.stock.get(product)!.available + (deltas.get(product) ?? 0),
          );
        }
        // An order is inserted once at most: reserved or tombstoned, never both, never twice.
        const inserted = writes.filter((w) => w.kind !== "release").map((w) => w.orderId);
        assert.equal(new Set(inserted).size, inserted.length);
      },
    ),
  );
});
