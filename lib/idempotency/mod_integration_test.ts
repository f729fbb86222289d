import assert from "node:assert/strict";
import { MalformedMessageError } from "../errors/mod.ts";
import { decodeMessage, encodeMessage } from "../messages/mod.ts";
import { withTestDatabase } from "../testing/db.ts";
import { asConsumed } from "../testing/kafka.ts";
import { claimMessages } from "./mod.ts";

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
