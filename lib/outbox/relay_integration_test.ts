import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import { connectProducer } from "../kafka/producer.ts";
import { createLogger } from "../log/mod.ts";
import { withTestDatabase } from "../testing/db.ts";
import { createTestTopics, deleteTestTopics, readRecords, testKafka } from "../testing/kafka.ts";
import { startOutboxRelay } from "./relay.ts";
import { writeOutbox } from "./write.ts";

const log = createLogger("test", { level: "error" });

Deno.test("startOutboxRelay() publishes committed rows in order, marks them, and skips rolled-back ones", async () => {
  await withTestDatabase(async ({ sql }) => {
    const kafka = await testKafka("outbox-test");
    const [topic] = await createTestTopics(kafka, ["outbox"]);
    const producer = await connectProducer(kafka);
    const relay = await startOutboxRelay({
      sql,
      schema: "inventory",
      producer,
      log,
      pollIntervalMs: 60_000,
    });
    try {
      const key = crypto.randomUUID();
      const records = Array.from({ length: 5 }, (_, i) => ({
        topic: topic!,
        key,
        value: JSON.stringify({ n: i }),
        headers: { metadata: JSON.stringify({ n: i }) },
      }));
      await sql.begin((tx) => writeOutbox(tx, "inventory", records));
      await assert.rejects(sql.begin(async (tx) => {
        await writeOutbox(tx, "inventory", [{ ...records[0]!, value: "rolled back" }]);
        throw new Error("Abort the transaction");
      }));
      // The poll interval is a minute: only the NOTIFY can have woken the relay this soon.
      const received = await readRecords(kafka, topic!, { count: 5, timeoutMs: 15_000 });
      assert.deepEqual(received.map((r) => r.value), records.map((r) => r.value));
      assert.deepEqual(
        received.map((r) => r.headers.metadata),
        records.map((r) => r.headers.metadata),
      );
      await waitFor(async () => {
        const [row] =
          await sql`select count(*)::int as n from inventory.outbox where published_at is null`;
        return row?.n === 0;
      }, { description: "every row marked published" });
      const [{ total }] =
        await sql`select count(*)::int as total from inventory.outbox` as unknown as [
          { total: number },
        ];
      assert.equal(total, 5, "the rolled-back row never reached the outbox");
    } finally {
      await relay.stop();
      await producer.disconnect();
      await deleteTestTopics(kafka, [topic!]);
    }
  });
});

Deno.test("stop() publishes what is still pending before it returns", async () => {
  await withTestDatabase(async ({ sql }) => {
    const kafka = await testKafka("outbox-test");
    const [topic] = await createTestTopics(kafka, ["outbox-stop"]);
    const producer = await connectProducer(kafka);
    const relay = await startOutboxRelay({
      sql,
      schema: "payment",
      producer,
      log,
      pollIntervalMs: 60_000,
    });
    try {
      await sql`insert into payment.outbox (topic, key, value) values (${topic!}, 'k', 'written without notify')`;
      await relay.stop();
      const [row] = await sql`select published_at from payment.outbox`;
      assert.ok(row?.published_at instanceof Date);
      const [record] = await readRecords(kafka, topic!, { count: 1 });
      assert.equal(record?.value, "written without notify");
    } finally {
      await producer.disconnect();
      await deleteTestTopics(kafka, [topic!]);
    }
  });
});
