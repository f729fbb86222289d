import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import type { WireRecord } from "../messages/mod.ts";
import { countingStatements, withTestDatabase } from "../../testing/db.ts";
import { outboxChannel, writeOutbox } from "./write.ts";

Deno.test("writeOutbox() inserts every record and notifies the relay, in one statement", async () => {
  await withTestDatabase(async ({ sql }) => {
    const notified: string[] = [];
    const subscription = await sql.listen(outboxChannel("orchestrator"), (payload) => {
      notified.push(payload);
    });
    try {
      const records: WireRecord[] = [
        { topic: "t1", key: "k1", value: "one", headers: { metadata: '{"n":1}' } },
        { topic: "t2", key: null, value: null, headers: {} },
        { topic: "t1", key: "k1", value: "three", headers: { a: "x", b: "y" } },
      ];
      let statements = 0;
      await sql.begin(async (tx) => {
        const counting = countingStatements(tx);
        await writeOutbox(counting.tx, "orchestrator", records);
        statements = counting.sent();
      });
      assert.equal(statements, 1);
      const rows = await sql`
        select topic, key, value, headers, published_at from orchestrator.outbox order by id`;
      assert.deepEqual(
        rows.map((r) => ({ ...r })),
        records.map((r) => ({ ...r, published_at: null })),
      );
      await waitFor(() => notified.length > 0, { description: "the NOTIFY at commit" });
      assert.deepEqual(notified, [""], "one notification per transaction, empty payload");
    } finally {
      await subscription.unlisten();
    }
  });
});

Deno.test("writeOutbox() of no records sends nothing", async () => {
  await withTestDatabase(async ({ sql }) => {
    let statements = -1;
    await sql.begin(async (tx) => {
      const counting = countingStatements(tx);
      await writeOutbox(counting.tx, "payment", []);
      statements = counting.sent();
    });
    assert.equal(statements, 0);
    const [row] = await sql`select count(*)::int as n from payment.outbox`;
    assert.equal(row?.n, 0);
  });
});
