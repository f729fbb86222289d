import assert from "node:assert/strict";
import { waitFor } from "../../lib/async/mod.ts";
import { seedCatalog } from "../../lib/catalog/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { countingStatements, withTestDatabase } from "../../testing/db.ts";
import { decodeMessage, encodeMessage } from "../../lib/messages/mod.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { lockChunkStock, lockStock, release, reserve } from "./store.ts";

// Ids in a known order; seeded C, A, B so that the table's physical order is not the id order.
const [A, B, C] = [
  "10000000-0000-4000-8000-00000000000a",
  "20000000-0000-4000-8000-000000000000",
  "30000000-0000-4000-8000-000000000000",
] as const;

async function seed(sql: Sql) {
  await seedCatalog(
    sql,
    [C, A, B].map((productId, i) => ({
      productId,
      sku: `SKU-${i}`,
      name: `Product ${i}`,
      priceCents: 100,
      stock: 10,
    })),
  );
}

async function available(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ product_id: string; available: number }[]>`
    select product_id, available from inventory.products order by product_id`;
  return Object.fromEntries(rows.map((row) => [row.product_id, row.available]));
}

const lines = [
  { productId: C, quantity: 3 },
  { productId: A, quantity: 1 },
  { productId: B, quantity: 2 },
];

Deno.test("reserve() takes each line out of stock and release() puts it back, one statement for all lines", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const orderId = crypto.randomUUID();
    await sql.begin(async (tx) => {
      const stock = await lockStock(tx, [A, B, C]);
      // The price comes with the stock rows: the reservation checks each line against it.
      assert.deepEqual(stock.get(A), { sku: "SKU-1", available: 10, priceCents: 100 });
      await reserve(tx, orderId, lines);
    });
    assert.deepEqual(await available(sql), { [A]: 9, [B]: 8, [C]: 7 });
    let statements = 0;
    await sql.begin(async (tx) => {
      const counting = countingStatements(tx);
      await release(counting.tx, orderId, lines);
      statements = counting.sent();
    });
    assert.equal(statements, 2, "the stock update and the reservation's status");
    assert.deepEqual(await available(sql), { [A]: 10, [B]: 10, [C]: 10 });
    const [row] = await sql`select status from inventory.reservations where order_id = ${orderId}`;
    assert.equal(row?.status, "RELEASED");
  });
});

Deno.test("release() adds up the lines of one product, however its id is spelled", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    await sql.begin((tx) =>
      release(tx, crypto.randomUUID(), [
        { productId: A, quantity: 1 },
        { productId: B, quantity: 1 },
        { productId: A.toUpperCase(), quantity: 2 },
      ])
    );
    assert.deepEqual(await available(sql), { [A]: 13, [B]: 11, [C]: 10 });
  });
});

Deno.test("reserve() changes no stock when one line cannot be taken", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    // Past decideReserve's check, the table's own (available >= 0) refuses the whole statement.
    await assert.rejects(
      sql.begin((tx) =>
        reserve(tx, crypto.randomUUID(), [
          { productId: A, quantity: 1 },
          { productId: B, quantity: 11 },
          { productId: C, quantity: 1 },
        ])
      ),
      (error: { code?: string }) => error.code === "23514",
    );
    assert.deepEqual(await available(sql), { [A]: 10, [B]: 10, [C]: 10 });
  });
});

Deno.test("release() locks the products in id order, as a reservation does, whatever the lines' order", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const orderId = crypto.randomUUID();
    await sql.begin(async (tx) => {
      await lockStock(tx, [A, B, C]);
      await reserve(tx, orderId, lines);
    });
    let unblock!: () => void;
    const unblocked = new Promise<void>((resolve) => (unblock = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    // A concurrent transaction holding the middle product.
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from inventory.products where product_id = ${B} for update`;
      holding();
      await unblocked;
    });
    try {
      await held;
      const releasing = sql.begin((tx) => release(tx, orderId, lines));
      await waitFor(async () => {
        const [row] = await sql`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`;
        return row?.n === 1;
      }, { description: "the release waiting for the held row" });
      const lockedNow = async (productId: string) => {
        try {
          await sql`select 1 from inventory.products where product_id = ${productId}
            for update nowait`;
          return false;
        } catch (error) {
          if ((error as { code?: string }).code === "55P03") return true;
          throw error;
        }
      };
      assert.equal(await lockedNow(A), true, "the first product is locked before the second");
      assert.equal(await lockedNow(C), false, "the third is not locked before the second");
      unblock();
      await holder;
      await releasing;
      assert.deepEqual(await available(sql), { [A]: 10, [B]: 10, [C]: 10 });
    } finally {
      unblock();
      await holder.catch(() => {});
    }
  });
});

Deno.test("lockChunkStock() locks every product a chunk reserves or releases, before any command runs", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const released = crypto.randomUUID();
    await sql.begin(async (tx) => {
      await lockStock(tx, [C]);
      await reserve(tx, released, [{ productId: C, quantity: 1 }]);
    });
    const chunk = [
      encodeMessage({
        eventType: "RESERVE_INVENTORY",
        body: {
          orderId: crypto.randomUUID(),
          items: [{ productId: B, quantity: 1, unitPriceCents: 100 }],
        },
        sagaId: crypto.randomUUID(),
      }),
      encodeMessage({
        eventType: "RELEASE_INVENTORY",
        body: { orderId: released },
        sagaId: crypto.randomUUID(),
      }),
    ].map((record) => decodeMessage(asConsumed(record)));
    let finish!: () => void;
    const holding = new Promise<void>((resolve) => (finish = resolve));
    const chunkTx = sql.begin(async (tx) => {
      await lockChunkStock(tx, chunk);
      await holding;
    });
    try {
      // From another connection: B (reserved) and C (released) are locked, A is free.
      const lockedNow = async (productId: string) => {
        try {
          await sql`select 1 from inventory.products where product_id = ${productId}
            for update nowait`;
          return false;
        } catch (error) {
          if ((error as { code?: string }).code === "55P03") return true;
          throw error;
        }
      };
      await waitFor(() => lockedNow(B), { description: "B locked by the chunk" });
      assert.equal(await lockedNow(C), true, "the released reservation's product is locked too");
      assert.equal(await lockedNow(A), false);
    } finally {
      finish();
      await chunkTx;
    }
  });
});
