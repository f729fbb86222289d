import assert from "node:assert/strict";
import { DEMO_CATALOG, seedCatalog } from "../../lib/catalog/mod.ts";
import { encodeMessage, TOPICS } from "../../lib/messages/mod.ts";
import { createCommandConsumer } from "../../lib/participant/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { capturingLogger } from "../../testing/log.ts";
import { replyTypes, withParticipant } from "../../testing/participant.ts";
import type { ParticipantHarness } from "../../testing/participant.ts";
import { INVENTORY_COMMANDS } from "./handlers.ts";

const [mug, tee, , soldOut] = DEMO_CATALOG.map((p) => p.productId) as [
  string,
  string,
  string,
  string,
];

function withInventory(fn: (harness: ParticipantHarness) => Promise<void>) {
  return withParticipant({
    name: "inventory",
    schema: "inventory",
    commandTopic: TOPICS.inventoryCommands,
    replyTopic: TOPICS.inventoryReplies,
    commands: INVENTORY_COMMANDS,
  }, async (harness) => {
    await seedCatalog(harness.runtime.sql);
    await fn(harness);
  });
}

/** A line at the demo catalog's price. */
function line(productId: string, quantity: number) {
  const product = DEMO_CATALOG.find((p) => p.productId === productId)!;
  return { productId, quantity, unitPriceCents: product.priceCents };
}

async function stock(harness: ParticipantHarness, productId: string) {
  const [row] = await harness.runtime.sql<{ available: number; total_stock: number }[]>`
    select available, total_stock from inventory.products where product_id = ${productId}`;
  const [held] = await harness.runtime.sql<{ n: number }[]>`
    select coalesce(sum(i.quantity), 0)::int as n from inventory.reservation_items i
    join inventory.reservations r using (order_id)
    where r.status = 'RESERVED' and i.product_id = ${productId}`;
  return { available: row!.available, reserved: held!.n, total: row!.total_stock };
}

Deno.test("inventory answers a command delivered 5 times 5 times with its one reply, and reserves once", async () => {
  await withInventory(async (harness) => {
    const before = await stock(harness, mug);
    const orderId = crypto.randomUUID();
    const eventId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    const body = {
      orderId,
      items: [line(mug, 3), line(tee, 1)],
    };
    for (let i = 0; i < 5; i++) {
      await harness.send({ eventType: "RESERVE_INVENTORY", body, eventId, sagaId });
    }
    // A release afterwards proves the five were handled: replies come in order per order id.
    const releaseId = await harness.send({
      eventType: "RELEASE_INVENTORY",
      body: { orderId },
      sagaId,
    });
    const replies = await harness.replies(orderId, 6);
    assert.deepEqual(replyTypes(replies), [
      ...Array(5).fill("INVENTORY_RESERVED"),
      "INVENTORY_RELEASED",
    ]);
    const metadata = replies.map((r) => JSON.parse(r.headers.metadata!));
    for (const reserved of metadata.slice(0, 5)) {
      assert.equal(reserved.causationId, eventId);
      assert.equal(reserved.sagaId, sagaId);
    }
    // Each delivery is answered from the record: the same reply body every time.
    assert.equal(new Set(replies.slice(0, 5).map((r) => r.value)).size, 1);
    assert.equal(metadata[5].causationId, releaseId);
    const after = await stock(harness, mug);
    assert.deepEqual(after, before, "reserved 3 once, released 3 once");
    const [{ n }] = await harness.runtime
      .sql`select count(*)::int as n from inventory.processed_messages` as unknown as [
        { n: number },
      ];
    assert.equal(n, 2, "two distinct commands recorded");
  });
});

Deno.test("inventory refuses a whole order when one product is out of stock, and keeps stock", async () => {
  await withInventory(async (harness) => {
    const orderId = crypto.randomUUID();
    const before = await stock(harness, mug);
    await harness.send({
      eventType: "RESERVE_INVENTORY",
      body: {
        orderId,
        items: [line(mug, 1), line(soldOut, 1)],
      },
    });
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["INVENTORY_RESERVATION_FAILED"]);
    const body = JSON.parse(reply!.value!);
    assert.equal(body.code, "insufficient_stock");
    assert.match(body.reason, new RegExp(`product "${soldOut}" has 0 left`));
    assert.deepEqual(await stock(harness, mug), before);
  });
});

Deno.test("inventory refuses an unknown product as a business failure, not a poison message", async () => {
  await withInventory(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send({
      eventType: "RESERVE_INVENTORY",
      body: {
        orderId,
        items: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 100 }],
      },
    });
    const [reply] = await harness.replies(orderId, 1);
    assert.equal(JSON.parse(reply!.value!).code, "unknown_product");
  });
});

Deno.test("inventory refuses a whole order with a line below the catalog price (price_mismatch), and keeps stock", async () => {
  await withInventory(async (harness) => {
    const [fair, cheap] = [crypto.randomUUID(), crypto.randomUUID()];
    const before = { mug: await stock(harness, mug), tee: await stock(harness, tee) };
    await harness.send({
      eventType: "RESERVE_INVENTORY",
      body: {
        orderId: cheap,
        items: [line(mug, 2), { productId: tee, quantity: 1, unitPriceCents: 1 }],
      },
    });
    // The same lines at the catalog's prices go through: the refusal was the price, nothing else.
    await harness.send({
      eventType: "RESERVE_INVENTORY",
      body: { orderId: fair, items: [line(mug, 2), line(tee, 1)] },
    });
    const [refused] = await harness.replies(cheap, 1);
    assert.deepEqual(replyTypes([refused!]), ["INVENTORY_RESERVATION_FAILED"]);
    const body = JSON.parse(refused!.value!);
    assert.equal(body.code, "price_mismatch");
    assert.equal(
      body.reason,
      `Cannot reserve stock for order "${cheap}": product TEE-LOGO-M ("${tee}") was ordered at 1 cent a unit, the catalog price is 2499 cents`,
    );
    assert.deepEqual(replyTypes(await harness.replies(fair, 1)), ["INVENTORY_RESERVED"]);
    const [held] = await harness.runtime.sql`
      select count(*)::int as n from inventory.reservations where order_id = ${cheap}`;
    assert.equal(held!.n, 0, "no reservation row for the refused order");
    assert.deepEqual(await stock(harness, mug), {
      ...before.mug,
      available: before.mug.available - 2,
      reserved: before.mug.reserved + 2,
    }, "only the fair order's 2 mugs are held");
    assert.deepEqual(await stock(harness, tee), {
      ...before.tee,
      available: before.tee.available - 1,
      reserved: before.tee.reserved + 1,
    });
  });
});

Deno.test("inventory leaves a tombstone for a release that comes first, so the late reservation fails", async () => {
  await withInventory(async (harness) => {
    const orderId = crypto.randomUUID();
    const before = await stock(harness, tee);
    await harness.send({ eventType: "RELEASE_INVENTORY", body: { orderId } });
    await harness.send({
      eventType: "RESERVE_INVENTORY",
      body: { orderId, items: [line(tee, 2)] },
    });
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["INVENTORY_RELEASED", "INVENTORY_RESERVATION_FAILED"]);
    assert.equal(JSON.parse(replies[1]!.value!).code, "reservation_released");
    assert.deepEqual(await stock(harness, tee), before, "no reservation after the release");
  });
});

Deno.test("inventory never oversells when concurrent orders compete for the last units", async () => {
  await withInventory(async (harness) => {
    const productId = crypto.randomUUID();
    await seedCatalog(harness.runtime.sql, [{
      productId,
      sku: `T-${productId}`,
      name: "Scarce",
      priceCents: 100,
      stock: 5,
    }]);
    const orders = Array.from({ length: 8 }, () => crypto.randomUUID());
    await Promise.all(
      orders.map((orderId) =>
        harness.send({
          eventType: "RESERVE_INVENTORY",
          body: { orderId, items: [{ productId, quantity: 1, unitPriceCents: 100 }] },
        })
      ),
    );
    const outcomes = await Promise.all(
      orders.map(async (orderId) => replyTypes(await harness.replies(orderId, 1))[0]),
    );
    assert.equal(outcomes.filter((t) => t === "INVENTORY_RESERVED").length, 5);
    assert.equal(outcomes.filter((t) => t === "INVENTORY_RESERVATION_FAILED").length, 3);
    assert.deepEqual(await stock(harness, productId), { available: 0, reserved: 5, total: 5 });
  });
});

Deno.test("inventory logs one info line per command: the participant's, with a refusal's code and reason", async () => {
  await withTestDatabase(async (db) => {
    await seedCatalog(db.sql);
    const { log, lines } = capturingLogger("inventory");
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "inventory",
      log,
      commands: INVENTORY_COMMANDS,
    });
    const [reserved, refused] = [crypto.randomUUID(), crypto.randomUUID()];
    const sagaId = crypto.randomUUID();
    const records = [
      encodeMessage({
        eventType: "RESERVE_INVENTORY",
        body: { orderId: reserved, items: [line(mug, 1)] },
        sagaId,
      }),
      encodeMessage({
        eventType: "RESERVE_INVENTORY",
        body: { orderId: refused, items: [line(soldOut, 1)] },
        sagaId: crypto.randomUUID(),
      }),
      encodeMessage({ eventType: "RELEASE_INVENTORY", body: { orderId: reserved }, sagaId }),
    ];
    for (const [offset, record] of records.entries()) {
      await handle([asConsumed(record, offset)], { signal: new AbortController().signal });
    }
    assert.deepEqual(
      lines.map(({ level, msg, orderId, reply, code }) => [level, msg, orderId, reply, code]),
      [
        ["info", "Command handled", reserved, "INVENTORY_RESERVED", undefined],
        ["info", "Command handled", refused, "INVENTORY_RESERVATION_FAILED", "insufficient_stock"],
        ["info", "Command handled", reserved, "INVENTORY_RELEASED", undefined],
      ],
    );
    assert.match(String(lines[1]!.reason), new RegExp(`product "${soldOut}" has 0 left`));
  });
});
