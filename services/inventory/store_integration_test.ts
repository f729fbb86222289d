import assert from "node:assert/strict";
import { waitFor } from "../../lib/async/mod.ts";
import { seedCatalog } from "../../lib/catalog/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { countingStatements, withTestDatabase } from "../../testing/db.ts";
import { decodeMessage, encodeMessage, type Message } from "../../lib/messages/mod.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { INVENTORY_CHUNK } from "./handlers.ts";
import { createLogger } from "../../lib/log/mod.ts";
import type { InventoryWrite } from "./decide.ts";
import { loadInventory, writeInventory } from "./store.ts";

// Ids in a known order; seeded C, A, B so that the table's physical order is not the id order.
const [A, B, C] = [
  "10000000-0000-4000-8000-00000000000a",
  "20000000-0000-4000-8000-000000000000",
  "30000000-0000-4000-8000-000000000000",
] as const;

const log = createLogger("inventory-test", { level: "error" });

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

async function reservations(sql: Sql): Promise<Record<string, string>> {
  const rows = await sql<{ order_id: string; status: string }[]>`
    select order_id, status from inventory.reservations`;
  return Object.fromEntries(rows.map((row) => [row.order_id, row.status]));
}

function reserveCommand(
  orderId: string,
  items: readonly { productId: string; quantity: number }[],
) {
  return command(encodeMessage({
    eventType: "RESERVE_INVENTORY",
    body: { orderId, items: items.map((item) => ({ ...item, unitPriceCents: 100 })) },
    sagaId: crypto.randomUUID(),
  }));
}

function releaseCommand(orderId: string) {
  return command(encodeMessage({
    eventType: "RELEASE_INVENTORY",
    body: { orderId },
    sagaId: crypto.randomUUID(),
  }));
}

function command(record: ReturnType<typeof encodeMessage>): Message {
  return decodeMessage(asConsumed(record));
}

/** Loads, decides in chunk order and writes `messages` as the participant runtime does. */
async function handleChunk(sql: Sql, messages: readonly Message[]) {
  return await sql.begin(async (tx) => {
    let state = await loadInventory(tx, messages);
    const writes: InventoryWrite[] = [];
    const replies = messages.map((message) => {
      const decided = INVENTORY_CHUNK.decide(
        state,
        message as Message<"RESERVE_INVENTORY" | "RELEASE_INVENTORY">,
        log,
      );
      state = decided.state;
      writes.push(...decided.writes);
      return decided.reply.eventType;
    });
    await writeInventory(tx, writes);
    return replies;
  });
}

async function lockedNow(sql: Sql, productId: string): Promise<boolean> {
  try {
    await sql`select 1 from inventory.products where product_id = ${productId} for update nowait`;
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === "55P03") return true;
    throw error;
  }
}

Deno.test("a chunk of inventory commands is loaded in 3 statements and written in 4, whatever its size", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    for (const [round, size] of [1, 8].entries()) {
      const orders = Array.from({ length: size }, () => crypto.randomUUID());
      await sql.begin((tx) =>
        writeInventory(
          tx,
          orders.map((orderId) => ({
            kind: "reserve",
            orderId,
            lines: [{ productId: A, quantity: 1 }],
          })),
        )
      );
      // Each order released, one reserved afresh and one released before it was reserved.
      const chunk = [
        ...orders.map(releaseCommand),
        reserveCommand(crypto.randomUUID(), [{ productId: B, quantity: 1 }]),
        releaseCommand(crypto.randomUUID()),
      ];
      await sql.begin(async (tx) => {
        const loading = countingStatements(tx);
        const state = await loadInventory(loading.tx, chunk);
        assert.equal(loading.sent(), 3, "stock, reservations, lines");
        let next = state;
        const writes: InventoryWrite[] = [];
        for (const message of chunk) {
          const decided = INVENTORY_CHUNK.decide(next, message as never, log);
          next = decided.state;
          writes.push(...decided.writes);
        }
        const writing = countingStatements(tx);
        await writeInventory(writing.tx, writes);
        assert.equal(
          writing.sent(),
          4,
          `chunk of ${chunk.length}: inserts, lines, releases, stock`,
        );
      });
      assert.deepEqual(await available(sql), { [A]: 10, [B]: 9 - round, [C]: 10 });
    }
  });
});

Deno.test("a chunk's decisions see the ones before them: stock taken by one order is not sold again, a release in the same chunk gives it back", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const [first, second, third] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const replies = await handleChunk(sql, [
      reserveCommand(first, [{ productId: A, quantity: 7 }, { productId: C, quantity: 1 }]),
      reserveCommand(second, [{ productId: A, quantity: 4 }]), // 3 left: refused
      releaseCommand(first),
      reserveCommand(third, [{ productId: A, quantity: 4 }]), // 10 left again
      releaseCommand(crypto.randomUUID()), // before its reservation: a tombstone
    ]);
    assert.deepEqual(replies, [
      "INVENTORY_RESERVED",
      "INVENTORY_RESERVATION_FAILED",
      "INVENTORY_RELEASED",
      "INVENTORY_RESERVED",
      "INVENTORY_RELEASED",
    ]);
    assert.deepEqual(await available(sql), { [A]: 6, [B]: 10, [C]: 10 });
    const statuses = await reservations(sql);
    assert.equal(statuses[first], "RELEASED");
    assert.equal(statuses[second], undefined);
    assert.equal(statuses[third], "RESERVED");
    assert.equal(Object.values(statuses).filter((s) => s === "RELEASED").length, 2);
    const [items] = await sql<{ n: number }[]>`
      select count(*)::int as n from inventory.reservation_items`;
    assert.equal(items!.n, 3, "first's two lines and third's one");
  });
});

Deno.test("a later chunk finds what an earlier one wrote: a reservation released, a tombstone refusing its late reservation", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const [reserved, tombstoned] = [crypto.randomUUID(), crypto.randomUUID()];
    await handleChunk(sql, [
      reserveCommand(reserved, [{ productId: B, quantity: 2 }, { productId: C, quantity: 3 }]),
      releaseCommand(tombstoned),
    ]);
    assert.deepEqual(await available(sql), { [A]: 10, [B]: 8, [C]: 7 });
    const replies = await handleChunk(sql, [
      releaseCommand(reserved),
      reserveCommand(tombstoned, [{ productId: A, quantity: 1 }]),
      releaseCommand(reserved),
    ]);
    assert.deepEqual(replies, [
      "INVENTORY_RELEASED",
      "INVENTORY_RESERVATION_FAILED",
      "INVENTORY_RELEASED",
    ]);
    assert.deepEqual(await available(sql), { [A]: 10, [B]: 10, [C]: 10 }, "released once");
  });
});

Deno.test("writeInventory() changes no stock when a product would go below zero (the table's own check)", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    // Past the decisions' check, the table's (available >= 0) refuses the whole statement.
    await assert.rejects(
      sql.begin((tx) =>
        writeInventory(tx, [
          { kind: "reserve", orderId: crypto.randomUUID(), lines: [{ productId: A, quantity: 1 }] },
          {
            kind: "reserve",
            orderId: crypto.randomUUID(),
            lines: [{ productId: B, quantity: 11 }],
          },
        ])
      ),
      (error: { code?: string }) => error.code === "23514",
    );
    assert.deepEqual(await available(sql), { [A]: 10, [B]: 10, [C]: 10 });
    assert.deepEqual(await reservations(sql), {});
  });
});

Deno.test("loadInventory() locks, in product id order, every product a chunk reserves or releases", async () => {
  await withTestDatabase(async ({ sql }) => {
    await seed(sql);
    const released = crypto.randomUUID();
    await handleChunk(sql, [reserveCommand(released, [{ productId: C, quantity: 1 }])]);
    // A to reserve, C held by the reservation to release, B held by another transaction.
    const chunk = [
      reserveCommand(crypto.randomUUID(), [{ productId: A, quantity: 1 }]),
      reserveCommand(crypto.randomUUID(), [{ productId: B, quantity: 1 }]),
      releaseCommand(released),
    ];
    let unblock!: () => void;
    const unblocked = new Promise<void>((resolve) => (unblock = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from inventory.products where product_id = ${B} for update`;
      holding();
      await unblocked;
    });
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let chunkTx: Promise<unknown> = Promise.resolve();
    try {
      await held;
      chunkTx = sql.begin(async (tx) => {
        await loadInventory(tx, chunk);
        await finished;
      });
      await waitFor(async () => {
        const [row] = await sql`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`;
        return row?.n === 1;
      }, { description: "the chunk waiting for the held row" });
      assert.equal(await lockedNow(sql, A), true, "the first product is locked before the second");
      assert.equal(await lockedNow(sql, C), false, "the third is not locked before the second");
      unblock();
      await holder;
      await waitFor(() => lockedNow(sql, C), { description: "C locked once B is" });
      assert.equal(await lockedNow(sql, B), true);
    } finally {
      unblock();
      finish();
      await holder.catch(() => {});
      await chunkTx;
    }
  });
});
