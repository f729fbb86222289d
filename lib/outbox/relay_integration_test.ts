import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { waitFor } from "../async/mod.ts";
import { type Kafka, Partitioners, type Producer } from "kafkajs";
import { createKafka } from "../kafka/client.ts";
import { connectProducer } from "../kafka/producer.ts";
import { ensureTopics } from "../kafka/topics.ts";
import { createLogger } from "../log/mod.ts";
import type { Sql } from "../db/mod.ts";
import { decodeMessage, encodeMessage, TOPICS, type WireRecord } from "../messages/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { testInfra } from "../../testing/infra.ts";
import {
  deleteNamespaceTopics,
  readRecords,
  readTopicToEnd,
  testNamespace,
} from "../../testing/kafka.ts";
import { startOutboxRelay } from "./relay.ts";
import { writeOutbox } from "./write.ts";

const log = createLogger("test", { level: "error" });

interface OutboxFixture {
  sql: Sql;
  /** A client bound to the test's own Kafka namespace. */
  kafka: Kafka;
  /** A topic of the test's own (in the namespace, as is `orders.dlq`). */
  topic: string;
  /** Partitions of `topic`. */
  partitions: number;
  producer: Producer;
}

/**
 * Runs `fn` with a fresh database, a Kafka namespace of its own (`topic` and `orders.dlq` in it)
 * and a producer bound to it, all closed or dropped afterwards.
 */
async function withOutbox(
  prefix: string,
  fn: (f: OutboxFixture) => Promise<void>,
  options: { partitions?: number } = {},
) {
  const partitions = options.partitions ?? 1;
  await withTestDatabase(async ({ sql }) => {
    const { kafkaBrokers } = await testInfra(["kafka"]);
    const kafka = createKafka({
      brokers: kafkaBrokers,
      clientId: "outbox-test",
      namespace: testNamespace(prefix),
    });
    await ensureTopics(kafka, { topics: [prefix, TOPICS.ordersDlq], partitions });
    const producer = await connectProducer(kafka);
    try {
      await fn({ sql, kafka, topic: prefix, partitions, producer });
    } finally {
      await producer.disconnect();
      await deleteNamespaceTopics(kafka);
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
      // A poll of the relay's own loop may hold the schema's lock when flush() scans (it then
      // finds nothing): flush until it took the row, which only flush() can take this young.
      let flushed = 0;
      await waitFor(async () => (flushed += await relay.flush()) > 0, {
        description: "flush() to take the young row",
      });
      assert.equal(flushed, 1, "flush() takes it whatever its age");
      const all = await readRecords(kafka, topic, { count: 5, timeoutMs: 15_000 });
      assert.deepEqual(all.map((r) => r.value), [...records.map((r) => r.value), "orphan"]);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("publishCommitted() sends a batch while the batch before it is still being marked", async () => {
  await withOutbox("outbox-overlap", async ({ sql, kafka, topic, producer }) => {
    const relay = await startOutboxRelay({
      sql,
      schema: "payment",
      producer,
      log,
      pollIntervalMs: 60_000,
      graceMs: 60_000,
    });
    let release = () => {};
    let locking: Promise<unknown> = Promise.resolve();
    try {
      const write = (value: string) =>
        sql.begin((tx) =>
          writeOutbox(tx, "payment", [{ topic, key: "k", value, headers: {} }], {
            notify: false,
          })
        );
      const [first] = await write("first");
      const [second] = await write("second");
      // Another transaction holds the first row: the relay's mark of it waits on the lock.
      const locked = Promise.withResolvers<void>();
      const released = new Promise<void>((resolve) => (release = resolve));
      locking = sql.begin(async (tx) => {
        await tx`select id from payment.outbox where id = ${first!.id} for update`;
        locked.resolve();
        await released;
      });
      await locked.promise;
      relay.publishCommitted([first!]);
      await readRecords(kafka, topic, { count: 1, timeoutMs: 15_000 });
      relay.publishCommitted([second!]);
      const received = await readRecords(kafka, topic, { count: 2, timeoutMs: 15_000 });
      assert.deepEqual(received.map((r) => r.value), ["first", "second"]);
      const marked = await sql<{ value: string }[]>`
        select value from payment.outbox where published_at is not null order by id`;
      assert.deepEqual(marked.map((r) => r.value), [], "the first mark still waits on the lock");
      release();
      await locking;
      await waitFor(async () => {
        const [row] =
          await sql`select count(*)::int as n from payment.outbox where published_at is null`;
        return row?.n === 0;
      }, { description: "both rows marked once the lock is released" });
    } finally {
      release();
      await locking;
      await relay.stop();
    }
  });
});

/** A `PAYMENT_FAILED` reply about `orderId`, on `topic`, failing for `reason`. */
function reply(topic: string, orderId: string, reason: string): WireRecord {
  const record = encodeMessage({
    eventType: "PAYMENT_FAILED",
    body: { orderId, reason, code: "card_declined" },
    sagaId: crypto.randomUUID(),
  });
  return { ...record, topic };
}

/** A reason that makes the record's value larger than the broker takes (1 MiB + 12 by default). */
const TOO_LARGE = "x".repeat(1_100_000);

/** The outbox rows of `schema`, in id order, as the relay left them. */
async function outboxRows(sql: Sql, schema: string) {
  return await sql<
    { id: string; published: boolean; set_aside_at: Date | null; set_aside_reason: string | null }[]
  >`
    select id, published_at is not null as published, set_aside_at, set_aside_reason
    from ${sql(`${schema}.outbox`)} order by id`;
}

/** Asserts the relay's work on rows [ok, too large, ok, ok], and the alert it raised; returns it. */
async function assertSetAside(
  f: OutboxFixture,
  records: readonly WireRecord[],
  committedAt: number,
) {
  const received = await readRecords(f.kafka, f.topic, { count: 3, timeoutMs: 15_000 });
  assert.deepEqual(
    received.map((r) => r.value),
    [records[0]!, records[2]!, records[3]!].map((r) => r.value),
    "the good rows, in order, the refused one left out",
  );
  // Kafka's record timestamps are the producer's clock at send: the good rows went out at once,
  // not after a poll interval (5 s) of sleeping on the failed batch.
  for (const record of received) {
    const delay = Number(record.raw.timestamp) - committedAt;
    assert.ok(delay < 2_500, `a good row was sent ${delay} ms after its commit`);
  }
  await waitFor(
    async () =>
      (await outboxRows(f.sql, "payment")).every((row) =>
        !row.published === (row.set_aside_at !== null)
      ),
    {
      description: "every row published or set aside",
    },
  );
  const rows = await outboxRows(f.sql, "payment");
  assert.deepEqual(rows.map((row) => row.published), [true, false, true, true]);
  assert.ok(rows[1]!.set_aside_at instanceof Date, "the refused row is set aside");
  assert.match(rows[1]!.set_aside_reason ?? "", /MESSAGE_TOO_LARGE/);
  assert.match(
    rows[1]!.set_aside_reason ?? "",
    /message\.max\.bytes/,
    "the reason names the limit",
  );
  const [alert] = await readRecords(f.kafka, TOPICS.ordersDlq, { count: 1, timeoutMs: 15_000 });
  const message = decodeMessage(alert!);
  assert.equal(message.eventType, "OUTBOX_RECORD_REFUSED");
  const refusedMetadata = JSON.parse(records[1]!.headers.metadata!);
  assert.equal(message.metadata.sagaId, refusedMetadata.sagaId, "the refused record's saga");
  assert.deepEqual(message.body, {
    orderId: refusedMetadata.orderId,
    schema: "payment",
    outboxId: rows[1]!.id,
    topic: f.topic,
    eventType: "PAYMENT_FAILED",
    eventId: refusedMetadata.eventId,
    bytes: Buffer.byteLength(records[1]!.value!),
    reason: rows[1]!.set_aside_reason,
  });
  assert.ok(alert!.value!.length < 10_000, "the refused value is not in the alert");
  return message;
}

Deno.test("startOutboxRelay() sets a row the broker refuses for good aside and publishes the rows behind it at once (scan)", async () => {
  await withOutbox("outbox-refused", async (f) => {
    // Batches of two: the rows behind the refused one are in the next batch, which the scan
    // reads at once, not at the next poll.
    const relay = await startOutboxRelay({
      sql: f.sql,
      schema: "payment",
      producer: f.producer,
      log,
      batchSize: 2,
      pollIntervalMs: 5_000,
    });
    try {
      const orderId = crypto.randomUUID();
      const records = ["first", TOO_LARGE, "third", "fourth"].map((reason) =>
        reply(f.topic, orderId, reason)
      );
      // Left to the scan: written with NOTIFY, never handed over.
      await f.sql.begin((tx) => writeOutbox(tx, "payment", records));
      await assertSetAside(f, records, Date.now());
      assert.equal(await relay.flush(), 0, "nothing left to publish");
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("publishCommitted() sets a row the broker refuses for good aside and publishes the rows behind it at once", async () => {
  await withOutbox("outbox-refused-handover", async (f) => {
    // A poll would leave these rows to their writer for a minute: only the hand-over sends them.
    const relay = await startOutboxRelay({
      sql: f.sql,
      schema: "payment",
      producer: f.producer,
      log,
      pollIntervalMs: 5_000,
      graceMs: 60_000,
    });
    try {
      const orderId = crypto.randomUUID();
      const records = ["first", TOO_LARGE, "third", "fourth"].map((reason) =>
        reply(f.topic, orderId, reason)
      );
      const rows = await f.sql.begin((tx) =>
        writeOutbox(tx, "payment", records, { notify: false })
      );
      const committedAt = Date.now();
      relay.publishCommitted(rows);
      await assertSetAside(f, records, committedAt);
    } finally {
      await relay.stop();
    }
  });
});

Deno.test("startOutboxRelay() sets nothing aside when Kafka cannot be reached, and keeps every row", async () => {
  await withOutbox("outbox-transient", async (f) => {
    await f.producer.disconnect();
    const relay = await startOutboxRelay({
      sql: f.sql,
      schema: "payment",
      producer: f.producer,
      log,
      pollIntervalMs: 60_000,
    });
    try {
      const orderId = crypto.randomUUID();
      const records = ["first", TOO_LARGE, "third"].map((reason) =>
        reply(f.topic, orderId, reason)
      );
      const rows = await f.sql.begin((tx) =>
        writeOutbox(tx, "payment", records, { notify: false })
      );
      relay.publishCommitted(rows);
      await assert.rejects(relay.flush(), /disconnected/);
      await assert.rejects(relay.flush(), /disconnected/);
      assert.deepEqual(
        (await outboxRows(f.sql, "payment")).map((row) => [row.published, row.set_aside_at]),
        [[false, null], [false, null], [false, null]],
        "a transient failure sets nothing aside",
      );
      await f.producer.connect();
      assert.equal(await relay.flush(), 2);
      const state = await outboxRows(f.sql, "payment");
      assert.deepEqual(state.map((row) => row.published), [true, false, true]);
      assert.ok(state[1]!.set_aside_at instanceof Date);
      const received = await readRecords(f.kafka, f.topic, { count: 2 });
      assert.deepEqual(received.map((r) => r.value), [records[0]!.value, records[2]!.value]);
    } finally {
      await relay.stop();
    }
  });
});

/** Two keys whose records the default partitioner puts on different partitions of `topic`. */
function keysOnTwoPartitions(topic: string, partitions: number): [string, string] {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
  const partitionOf = (key: string) =>
    partitioner({ topic, partitionMetadata, message: { key, value: null } });
  const first = crypto.randomUUID();
  for (;;) {
    const second = crypto.randomUUID();
    if (partitionOf(second) !== partitionOf(first)) return [first, second];
  }
}

Deno.test("startOutboxRelay() keeps the producer in step when a refused row shared a batch with other partitions' rows", async () => {
  await withOutbox("outbox-refused-partitions", async (f) => {
    // The broker appends the other partitions' records of a refused batch; kafkajs's idempotent
    // producer rewinds their sequence numbers all the same. Sent again one by one, they would be
    // refused as out of order, and the next batch of as many records to their partition would
    // be taken for a duplicate and dropped.
    const [good, bad] = keysOnTwoPartitions(f.topic, f.partitions);
    const relay = await startOutboxRelay({
      sql: f.sql,
      schema: "payment",
      producer: f.producer,
      log,
      pollIntervalMs: 60_000,
    });
    try {
      const records = [
        reply(f.topic, good, "a1"),
        reply(f.topic, good, "a2"),
        reply(f.topic, bad, TOO_LARGE),
        reply(f.topic, good, "a3"),
      ];
      await f.sql.begin((tx) => writeOutbox(tx, "payment", records));
      await waitFor(async () => (await outboxRows(f.sql, "payment"))[2]?.set_aside_at != null, {
        description: "the refused row set aside",
      });
      // As many records to the same partition as the refused batch had there.
      const next = ["b1", "b2", "b3"].map((reason) => reply(f.topic, good, reason));
      await f.sql.begin((tx) => writeOutbox(tx, "payment", next));
      const received = await readRecords(f.kafka, f.topic, { count: 6, timeoutMs: 15_000 });
      assert.deepEqual(
        received.map((r) => JSON.parse(r.value!).reason),
        ["a1", "a2", "a3", "b1", "b2", "b3"],
        "every good record once, in order",
      );
      const rows = await outboxRows(f.sql, "payment");
      assert.deepEqual(rows.map((row) => row.published), [
        true,
        true,
        false,
        true,
        true,
        true,
        true,
      ]);
    } finally {
      await relay.stop();
    }
  }, { partitions: 4 });
});

Deno.test("startOutboxRelay() splits a batch too large as a whole and sets nothing aside", async () => {
  await withOutbox("outbox-large-batch", async (f) => {
    const relay = await startOutboxRelay({
      sql: f.sql,
      schema: "payment",
      producer: f.producer,
      log,
      pollIntervalMs: 60_000,
    });
    try {
      // Each record fits, the three of them in one record batch do not.
      const orderId = crypto.randomUUID();
      const records = ["a", "b", "c"].map((letter) =>
        reply(f.topic, orderId, letter.repeat(450_000))
      );
      await f.sql.begin((tx) => writeOutbox(tx, "payment", records));
      const received = await readRecords(f.kafka, f.topic, { count: 3, timeoutMs: 15_000 });
      assert.deepEqual(received.map((r) => r.value), records.map((r) => r.value));
      await waitFor(
        async () => (await outboxRows(f.sql, "payment")).every((row) => row.published),
        {
          description: "every row published",
        },
      );
      assert.equal(await relay.flush(), 0);
      assert.ok((await outboxRows(f.sql, "payment")).every((row) => row.set_aside_at === null));
      assert.deepEqual(await readTopicToEnd(f.kafka, TOPICS.ordersDlq), [], "no alert");
    } finally {
      await relay.stop();
    }
  });
});
