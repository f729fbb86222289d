import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import type { Kafka, Producer } from "kafkajs";
import { connectProducer } from "../kafka/producer.ts";
import { createLogger } from "../log/mod.ts";
import type { Sql } from "../db/mod.ts";
import { withTestDatabase } from "../testing/db.ts";
import { createTestTopics, deleteTestTopics, readRecords, testKafka } from "../testing/kafka.ts";
import { startOutboxRelay } from "./relay.ts";
import { writeOutbox } from "./write.ts";

const log = createLogger("test", { level: "error" });

interface OutboxFixture {
  sql: Sql;
  kafka: Kafka;
  /** A topic of the test's own. */
  topic: string;
  producer: Producer;
}

/** Runs `fn` with a fresh database, a topic and a producer, all closed or dropped afterwards. */
async function withOutbox(prefix: string, fn: (f: OutboxFixture) => Promise<void>) {
  await withTestDatabase(async ({ sql }) => {
    const kafka = await testKafka("outbox-test");
    const [topic] = await createTestTopics(kafka, [prefix]);
    const producer = await connectProducer(kafka);
    try {
      await fn({ sql, kafka, topic: topic!, producer });
    } finally {
      await producer.disconnect();
      await deleteTestTopics(kafka, [topic!]);
    }
  });
}

Deno.test("startOutboxRelay() publishes committed rows in order, marks them, and skips rolled-back ones", async () => {
  await withOutbox("outbox", async ({ sql, kafka, topic, producer }) => {
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
        topic,
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
      const received = await readRecords(kafka, topic, { count: 5, timeoutMs: 15_000 });
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
    }
  });
});

Deno.test("stop() publishes what is still pending before it returns", async () => {
  await withOutbox("outbox-stop", async ({ sql, kafka, topic, producer }) => {
    const relay = await startOutboxRelay({
      sql,
      schema: "payment",
      producer,
      log,
      pollIntervalMs: 60_000,
    });
    await sql`insert into payment.outbox (topic, key, value) values (${topic}, 'k', 'written without notify')`;
    await relay.stop();
    const [row] = await sql`select published_at from payment.outbox`;
    assert.ok(row?.published_at instanceof Date);
    const [record] = await readRecords(kafka, topic, { count: 1 });
    assert.equal(record?.value, "written without notify");
  });
});

/** `sql`, counting the transactions begun through it. */
function countingTransactions(sql: Sql): { sql: Sql; begun: () => number } {
  let begun = 0;
  const counted = new Proxy(sql, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "begin" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        begun++;
        return Reflect.apply(value, target, args);
      };
    },
  });
  return { sql: counted, begun: () => begun };
}

Deno.test("flush() ends at the first batch smaller than batchSize, with no empty transaction after it", async () => {
  await withOutbox("outbox-batches", async ({ sql, kafka, topic, producer }) => {
    // Written before the relay starts and without NOTIFY: its first flush finds all five, and
    // nothing else wakes it before stop().
    await sql`insert into payment.outbox (topic, key, value)
      select ${topic}, 'k', 'v' || n from generate_series(1, 5) as n`;
    const counting = countingTransactions(sql);
    const batches: number[] = [];
    const relay = await startOutboxRelay({
      sql: counting.sql,
      schema: "payment",
      producer,
      log,
      batchSize: 2,
      pollIntervalMs: 60_000,
      onPublished: (count) => batches.push(count),
    });
    await relay.stop();
    assert.deepEqual(batches, [2, 2, 1]);
    // The start's flush: batches of 2, 2 and 1, the last one ending it. Then stop()'s flush:
    // one transaction that finds nothing.
    assert.equal(counting.begun(), 4);
    const received = await readRecords(kafka, topic, { count: 5 });
    assert.deepEqual(received.map((r) => r.value), ["v1", "v2", "v3", "v4", "v5"]);
  });
});

Deno.test("a relay publishes nothing while another transaction holds its schema's advisory lock", async () => {
  await withOutbox("outbox-lock", async ({ sql, kafka, topic, producer }) => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    // Another relay of the schema, in the middle of a batch.
    const holder = sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext('outbox:payment'))`;
      locked();
      await released;
    });
    await lockTaken;
    const published: number[] = [];
    const relay = await startOutboxRelay({
      sql,
      schema: "payment",
      producer,
      log,
      pollIntervalMs: 60_000,
      onPublished: (count) => published.push(count),
    });
    try {
      await sql`insert into payment.outbox (topic, key, value)
        select ${topic}, 'k', 'v' || n from generate_series(1, 3) as n`;
      assert.equal(await relay.flush(), 0);
      const [row] =
        await sql`select count(*)::int as n from payment.outbox where published_at is null`;
      assert.equal(row?.n, 3, "nothing published under another relay's lock");
      release();
      await holder;
      // This flush, or the relay's own first one if it ran this late, publishes all three once.
      await relay.flush();
      await waitFor(async () => {
        const [row] =
          await sql`select count(*)::int as n from payment.outbox where published_at is null`;
        return row?.n === 0;
      }, { description: "every row marked published" });
      assert.equal(published.reduce((sum, n) => sum + n, 0), 3);
      const received = await readRecords(kafka, topic, { count: 3 });
      assert.deepEqual(received.map((r) => r.value), ["v1", "v2", "v3"]);
    } finally {
      release();
      await holder.catch(() => {});
      await relay.stop();
    }
  });
});

Deno.test("publishCommitted() sends handed-over rows without a NOTIFY or a scan, once each", async () => {
  await withOutbox("outbox", async ({ sql, kafka, topic, producer }) => {
    // Polls every 50 ms, but a poll leaves rows younger than a minute to their writer: only the
    // hand-over can publish these soon, and the polls must not publish them a second time.
    const relay = await startOutboxRelay({
      sql,
      schema: "payment",
      producer,
      log,
      pollIntervalMs: 50,
      graceMs: 60_000,
    });
    try {
      const key = crypto.randomUUID();
      const records = Array.from({ length: 4 }, (_, i) => ({
        topic,
        key,
        value: JSON.stringify({ n: i }),
        headers: {},
      }));
      const rows = await sql.begin((tx) => writeOutbox(tx, "payment", records, { notify: false }));
      assert.deepEqual(rows.map((row) => row.value), records.map((r) => r.value));
      relay.publishCommitted(rows.slice(0, 2));
      relay.publishCommitted(rows.slice(2));
      const received = await readRecords(kafka, topic, { count: 4, timeoutMs: 15_000 });
      assert.deepEqual(received.map((r) => r.value), records.map((r) => r.value));
      await waitFor(async () => {
        const [row] =
          await sql`select count(*)::int as n from payment.outbox where published_at is null`;
        return row?.n === 0;
      }, { description: "every row marked published" });
      // A row written without a hand-over or NOTIFY (a crash after commit) waits for its grace.
      await sql.begin((tx) =>
        writeOutbox(tx, "payment", [{ ...records[0]!, value: "orphan" }], { notify: false })
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [pending] =
        await sql`select count(*)::int as n from payment.outbox where published_at is null`;
      assert.equal(pending?.n, 1, "a poll does not take a row younger than graceMs");
      assert.equal(await relay.flush(), 1, "flush() takes it whatever its age");
      const all = await readRecords(kafka, topic, { count: 5, timeoutMs: 15_000 });
      assert.deepEqual(all.map((r) => r.value), [...records.map((r) => r.value), "orphan"]);
    } finally {
      await relay.stop();
    }
  });
});
