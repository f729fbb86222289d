import assert from "node:assert/strict";
import type { WireRecord } from "../messages/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { readOutboxBacklog } from "./backlog.ts";
import { writeOutbox } from "./write.ts";

Deno.test("readOutboxBacklog() counts rows to publish apart from rows set aside and published ones", async () => {
  await withTestDatabase(async ({ sql }) => {
    assert.deepEqual(await readOutboxBacklog(sql, "payment"), {
      unpublished: 0,
      oldest: null,
      setAside: 0,
    });
    const record: WireRecord = { topic: "t", key: "k", value: "v", headers: {} };
    const rows = await sql.begin((tx) =>
      writeOutbox(tx, "payment", [record, record, record, record], { notify: false })
    );
    const [published, setAside] = rows;
    await sql`update payment.outbox set published_at = now() where id = ${published!.id}`;
    await sql`update payment.outbox set set_aside_at = now(), set_aside_reason = 'too large' where id = ${
      setAside!.id
    }`;
    const backlog = await readOutboxBacklog(sql, "payment");
    assert.equal(backlog.unpublished, 2);
    assert.equal(backlog.setAside, 1);
    assert.ok(backlog.oldest instanceof Date);
    assert.deepEqual(await readOutboxBacklog(sql, "inventory"), {
      unpublished: 0,
      oldest: null,
      setAside: 0,
    });
  });
});
