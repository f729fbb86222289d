import assert from "node:assert/strict";
import { MalformedMessageError } from "../errors/mod.ts";
import { decodeMessage, encodeMessage } from "../messages/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed } from "../../testing/kafka.ts";
import {
  awaitingCommands,
  awaitReplies,
  claimCommands,
  claimMessages,
  recordReplies,
  releaseClaims,
} from "./mod.ts";

function release(orderId: string, eventId?: string) {
  return decodeMessage(asConsumed(encodeMessage({
    eventType: "RELEASE_INVENTORY",
    body: { orderId },
    sagaId: "6a1a3d4e-0000-4000-8000-000000000001",
    ...(eventId === undefined ? {} : { eventId }),
  })));
}

Deno.test("claimMessages() says new once per event id, in the messages' order, across calls", async () => {
  await withTestDatabase(async ({ sql }) => {
    const [a, b] = [release(crypto.randomUUID()), release(crypto.randomUUID())];
    const first = await sql.begin((tx) => claimMessages(tx, "inventory", [a, b, a]));
    assert.deepEqual(first, ["new", "new", "duplicate"]);
    const c = release(crypto.randomUUID());
    const second = await sql.begin((tx) => claimMessages(tx, "inventory", [b, c]));
    assert.deepEqual(second, ["duplicate", "new"]);
  });
});

Deno.test("claimMessages() refuses an event id reused with another body, in or across chunks", async () => {
  await withTestDatabase(async ({ sql }) => {
    const eventId = crypto.randomUUID();
    const original = release(crypto.randomUUID(), eventId);
    const forged = release(crypto.randomUUID(), eventId);
    await assert.rejects(
      sql.begin((tx) => claimMessages(tx, "inventory", [original, forged])),
      MalformedMessageError,
    );
    await sql.begin((tx) => claimMessages(tx, "inventory", [original]));
    await assert.rejects(
      sql.begin((tx) => claimMessages(tx, "inventory", [forged])),
      /already used by another RELEASE_INVENTORY with a different body/,
    );
  });
});

Deno.test("claimCommands() gives a repeated command the reply recorded with its key, and a copy in the same call none", async () => {
  await withTestDatabase(async ({ sql }) => {
    const [a, b] = [release(crypto.randomUUID()), release(crypto.randomUUID())];
    const reply = {
      eventType: "INVENTORY_RELEASED" as const,
      body: { orderId: a.metadata.orderId },
    };
    await sql.begin(async (tx) => {
      const claims = await claimCommands(tx, "inventory", [a, a, b]);
      assert.deepEqual(claims, [
        { kind: "new", resumed: false },
        { kind: "duplicate", reply: null, awaiting: false, inChunk: true },
        { kind: "new", resumed: false },
      ]);
      await recordReplies(tx, "inventory", [{ eventId: a.metadata.eventId, reply }]);
    });
    const again = await sql.begin((tx) => claimCommands(tx, "inventory", [a, b]));
    assert.deepEqual(again, [
      { kind: "duplicate", reply, awaiting: false, inChunk: false },
      { kind: "duplicate", reply: null, awaiting: false, inChunk: false },
    ]);
    await assert.rejects(
      sql.begin((tx) =>
        claimCommands(tx, "inventory", [{ ...release(crypto.randomUUID()), metadata: a.metadata }])
      ),
      MalformedMessageError,
    );
  });
});

Deno.test("claimCommands() takes back the key of a command that awaits, and releaseClaims() puts it back awaiting", async () => {
  await withTestDatabase(async ({ sql }) => {
    const a = release(crypto.randomUUID());
    const fresh = release(crypto.randomUUID());
    await sql.begin(async (tx) => {
      await claimCommands(tx, "inventory", [a]);
      await awaitReplies(tx, "inventory", [a]);
    });
    assert.deepEqual(await awaitingCommands(sql, "inventory", [a.metadata.orderId]), [a]);
    await sql.begin(async (tx) => {
      const claims = await claimCommands(tx, "inventory", [a, fresh]);
      assert.deepEqual(claims, [{ kind: "new", resumed: true }, { kind: "new", resumed: false }]);
      await releaseClaims(tx, "inventory", [
        { eventId: a.metadata.eventId, resumed: true },
        { eventId: fresh.metadata.eventId, resumed: false },
      ]);
    });
    assert.deepEqual(await awaitingCommands(sql, "inventory", [a.metadata.orderId]), [a]);
    const [{ n }] =
      await sql`select count(*)::int as n from inventory.processed_messages` as unknown as [
        { n: number },
      ];
    assert.equal(n, 1, "the fresh key was given back");
  });
});
