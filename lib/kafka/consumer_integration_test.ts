import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import kafkajs from "kafkajs";
import type { Kafka, Producer } from "kafkajs";
import { waitFor } from "../async/mod.ts";
import { DEFAULT_TOPIC_PARTITIONS } from "../config/defaults.ts";
import { InfrastructureError, MalformedMessageError } from "../errors/mod.ts";
import { createLogger } from "../log/mod.ts";
import { ALL_TOPICS, decodeMetadata, encodeMessage, TOPICS } from "../messages/mod.ts";
import { createTestTopics, deleteTestTopics, readRecords, testKafka } from "../../testing/kafka.ts";
import {
  type BatchHandler,
  type ConsumerOptions,
  type RecordOutcome,
  restartAfterFatalCrash,
  startConsumer,
} from "./consumer.ts";
import { DLQ_HEADERS } from "./dlq.ts";
import { connectProducer } from "./producer.ts";
import type { ConsumedRecord } from "./records.ts";
import { ensureTopics } from "./topics.ts";

const quietLog = createLogger("test", { level: "error" });
const fastRetry = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50 };

interface Fixture {
  kafka: Kafka;
  producer: Producer;
  topic: string;
  groupId: string;
  outcomes: RecordOutcome[];
  consume(
    handler: BatchHandler,
    options?: Pick<ConsumerOptions, "maxRecords">,
  ): ReturnType<typeof startConsumer>;
  /** The group's committed offset of partition 0 (-1 when none). */
  committed(): Promise<number>;
}

async function withFixture(fn: (fixture: Fixture) => Promise<void>): Promise<void> {
  const kafka = await testKafka("consumer-test");
  await ensureTopics(kafka, { topics: ALL_TOPICS, partitions: DEFAULT_TOPIC_PARTITIONS });
  const [topic] = await createTestTopics(kafka, ["consumer"]);
  const producer = await connectProducer(kafka);
  const outcomes: RecordOutcome[] = [];
  const groupId = `test-group-${crypto.randomUUID()}`;
  const fixture: Fixture = {
    kafka,
    producer,
    topic: topic!,
    groupId,
    outcomes,
    consume: (handler, options) =>
      startConsumer(kafka, {
        ...options,
        groupId,
        topics: [topic!],
        handler,
        producer,
        log: quietLog,
        retry: fastRetry,
        onOutcome: (_topic, outcome) => outcomes.push(outcome),
      }),
    committed: () => committedOffset(kafka, { groupId, topic: topic! }),
  };
  try {
    await fn(fixture);
  } finally {
    await producer.disconnect();
    await deleteTestTopics(kafka, [topic!]);
  }
}

async function committedOffset(
  kafka: Kafka,
  { groupId, topic }: { groupId: string; topic: string },
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partition = offsets?.partitions.find((p) => p.partition === 0);
    return Number(partition?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

/** Keys of the records in `records`, in order. */
function keysOf(records: readonly ConsumedRecord[]): string[] {
  return records.map((record) => record.key ?? "");
}

function orderRecord() {
  return encodeMessage({
    eventType: "ORDER_CREATED",
    body: {
      orderId: crypto.randomUUID(),
      customerId: crypto.randomUUID(),
      customerEmail: "grace@example.com",
      currency: "eur",
      paymentMethod: "pm_card_visa",
      items: [{ productId: crypto.randomUUID(), quantity: 1, unitPriceCents: 500 }],
    },
  });
}

Deno.test("startConsumer() delivers key, value and every metadata field as produced", async () => {
  await withFixture(async ({ producer, topic, consume }) => {
    const sent = orderRecord();
    await producer.send({
      topic,
      messages: [{ key: sent.key, value: sent.value, headers: sent.headers }],
    });
    const received: ConsumedRecord[] = [];
    const consumer = await consume((records) => {
      received.push(...records);
      return Promise.resolve();
    });
    try {
      await waitFor(() => received.length === 1, { description: "the record" });
    } finally {
      await consumer.stop();
    }
    const [record] = received;
    assert.equal(record?.key, sent.key);
    assert.equal(record?.value, sent.value);
    assert.deepEqual(decodeMetadata(record?.headers.metadata), JSON.parse(sent.headers.metadata!));
  });
});

Deno.test("startConsumer() dead-letters invalid JSON and a missing header, then keeps consuming", async () => {
  await withFixture(async ({ kafka, producer, topic, outcomes, consume }) => {
    const good = orderRecord();
    const badJsonKey = crypto.randomUUID();
    const noHeaderKey = crypto.randomUUID();
    await producer.send({
      topic,
      messages: [
        { key: badJsonKey, value: "{not json", headers: good.headers },
        { key: noHeaderKey, value: good.value },
        { key: good.key, value: good.value, headers: good.headers },
      ],
    });
    const handled: string[] = [];
    const consumer = await consume((records) => {
      for (const record of records) {
        if (record.headers.metadata === undefined) {
          throw new MalformedMessageError("Missing header metadata");
        }
        JSON.parse(record.value ?? "");
      }
      handled.push(...keysOf(records));
      return Promise.resolve();
    });
    try {
      await waitFor(() => handled.includes(good.key!), { description: "the good record" });
    } finally {
      await consumer.stop();
    }
    const letters = await readRecords(kafka, TOPICS.ordersDlq, {
      count: 2,
      select: (r) => r.key === badJsonKey || r.key === noHeaderKey,
    });
    const byKey = new Map(letters.map((r) => [r.key, r]));
    const badJson = byKey.get(badJsonKey)!;
    assert.equal(badJson.value, "{not json");
    assert.equal(badJson.headers[DLQ_HEADERS.sourceTopic], topic);
    assert.equal(badJson.headers[DLQ_HEADERS.sourcePartition], "0");
    assert.equal(badJson.headers[DLQ_HEADERS.sourceOffset], "0");
    assert.match(badJson.headers[DLQ_HEADERS.error] ?? "", /Failed after 3 attempts: SyntaxError/);
    assert.equal(badJson.headers.metadata, good.headers.metadata, "original headers are kept");
    const noHeader = byKey.get(noHeaderKey)!;
    assert.equal(noHeader.headers[DLQ_HEADERS.error], "Missing header metadata");
    assert.equal(noHeader.headers[DLQ_HEADERS.sourceOffset], "1");
    assert.deepEqual(handled, [good.key]);
    assert.deepEqual(outcomes, ["retried", "retried", "dlq", "dlq", "handled"]);
  });
});

Deno.test("startConsumer() dead-letters a malformed record in the middle of a chunk and handles the records around it", async () => {
  await withFixture(async ({ kafka, producer, topic, outcomes, consume, committed }) => {
    const records = Array.from({ length: 7 }, orderRecord);
    const poisonKey = records[4]!.key;
    await producer.send({
      topic,
      messages: records.map((record) => ({
        key: record.key,
        value: record.value,
        headers: record.key === poisonKey ? {} : record.headers,
      })),
    });
    const chunks: string[][] = [];
    const handled: string[] = [];
    // All or nothing, like a transaction: a chunk with a poison record handles none of them.
    const consumer = await consume((chunk) => {
      chunks.push(keysOf(chunk));
      if (chunk.some((record) => record.headers.metadata === undefined)) {
        return Promise.reject(new MalformedMessageError("Missing header metadata"));
      }
      handled.push(...keysOf(chunk));
      return Promise.resolve();
    }, { maxRecords: 3 });
    try {
      await waitFor(() => handled.length === 6, { description: "the six good records" });
      await waitFor(async () => (await committed()) === 7, { description: "offsets committed" });
    } finally {
      await consumer.stop();
    }
    const [letter] = await readRecords(kafka, TOPICS.ordersDlq, {
      count: 1,
      select: (r) => r.key === poisonKey,
    });
    assert.equal(letter?.headers[DLQ_HEADERS.error], "Missing header metadata");
    assert.equal(letter?.headers[DLQ_HEADERS.sourceTopic], topic);
    assert.equal(letter?.headers[DLQ_HEADERS.sourceOffset], "4");
    const keys = records.map((r) => r.key!);
    assert.deepEqual(handled, keys.filter((key) => key !== poisonKey), "in order, poison left out");
    // Fetched at once (one produce before the consumer started): the chunk holding the poison
    // record fails whole, then its records come one per chunk.
    assert.deepEqual(chunks, [
      keys.slice(0, 3),
      keys.slice(3, 6),
      [keys[3]],
      [keys[4]],
      [keys[5]],
      [keys[6]],
    ]);
    assert.deepEqual(outcomes, [
      ...Array(4).fill("handled"),
      "dlq",
      ...Array(2).fill("handled"),
    ]);
  });
});

Deno.test("startConsumer() splits a fetch larger than maxRecords into chunks, in order", async () => {
  await withFixture(async ({ producer, topic, outcomes, consume, committed }) => {
    const records = Array.from({ length: 10 }, orderRecord);
    await producer.send({ topic, messages: records.map(toMessage) });
    const chunks: string[][] = [];
    const consumer = await consume((chunk) => {
      chunks.push(keysOf(chunk));
      return Promise.resolve();
    }, { maxRecords: 4 });
    try {
      await waitFor(() => chunks.flat().length === 10, { description: "the ten records" });
      await waitFor(async () => (await committed()) === 10, { description: "offsets committed" });
    } finally {
      await consumer.stop();
    }
    const keys = records.map((r) => r.key!);
    // One fetch brings all ten (produced at once, before the consumer started).
    assert.deepEqual(chunks, [keys.slice(0, 4), keys.slice(4, 8), keys.slice(8)]);
    assert.deepEqual(outcomes, Array(10).fill("handled"));
  });
});

Deno.test("startConsumer() hands the six partitions of a fetch to the handler in one call, committed in one or two commits", async () => {
  const kafka = await testKafka("consumer-test");
  await ensureTopics(kafka, { topics: ALL_TOPICS, partitions: DEFAULT_TOPIC_PARTITIONS });
  const [topic] = await createTestTopics(kafka, ["consumer-commits"], { partitions: 6 });
  const producer = await connectProducer(kafka);
  const groupId = `test-group-${crypto.randomUUID()}`;
  // Every offset commit the consumer sends to the broker, counted from its request events.
  let commits = 0;
  const consumerOf = kafka.consumer.bind(kafka);
  kafka.consumer = (config) => {
    const consumer = consumerOf(config);
    consumer.on(consumer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === "OffsetCommit") commits++;
    });
    return consumer;
  };
  try {
    await producer.send({
      topic: topic!,
      messages: Array.from({ length: 6 }, (_, partition) => ({
        ...toMessage(orderRecord()),
        partition,
      })),
    });
    const calls: number[][] = [];
    const consumer = await startConsumer(kafka, {
      groupId,
      topics: [topic!],
      producer,
      log: quietLog,
      partitionsConcurrently: 6,
      handler: (records) => {
        calls.push(records.map((record) => record.partition));
        return Promise.resolve();
      },
    });
    try {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitFor(async () => {
          const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic!] });
          return offsets?.partitions.every((p) => p.offset === "1") ?? false;
        }, { description: "every partition committed after its record" });
      } finally {
        await admin.disconnect();
      }
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(calls.flat().toSorted(), [0, 1, 2, 3, 4, 5]);
    assert.equal(
      calls.length,
      1,
      `one call for the fetch's six partitions: ${JSON.stringify(calls)}`,
    );
    assert.ok(
      commits >= 1 && commits <= 2,
      `one or two offset commits, not one per chunk: ${commits}`,
    );
  } finally {
    await producer.disconnect();
    await deleteTestTopics(kafka, [topic!]);
  }
});

Deno.test("startConsumer() retries a transient fault until the handler succeeds", async () => {
  await withFixture(async ({ producer, topic, outcomes, consume }) => {
    const sent = orderRecord();
    await producer.send({
      topic,
      messages: [{ key: sent.key, value: sent.value, headers: sent.headers }],
    });
    let attempts = 0;
    const consumer = await consume(() => {
      attempts++;
      // More failures than maxAttempts: infrastructure faults are never dead-lettered.
      if (attempts <= 5) throw new InfrastructureError("Database is restarting");
      return Promise.resolve();
    });
    try {
      await waitFor(() => outcomes.includes("handled"), { description: "the handled record" });
    } finally {
      await consumer.stop();
    }
    assert.equal(attempts, 6);
    assert.deepEqual(outcomes, ["retried", "retried", "retried", "retried", "retried", "handled"]);
  });
});

Deno.test("startConsumer() does not commit a record whose handling failed: a restart redelivers it", async () => {
  await withFixture(async ({ producer, topic, consume }) => {
    const first = orderRecord();
    const second = orderRecord();
    await producer.send({
      topic,
      messages: [first, second].map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
    });
    const seen: string[] = [];
    const failing = await consume((records) => {
      seen.push(...keysOf(records));
      if (records.some((r) => r.key === second.key)) {
        throw new InfrastructureError("Database is down");
      }
      return Promise.resolve();
    });
    await waitFor(() => seen.filter((k) => k === second.key).length >= 2, {
      description: "retries of the second record",
    });
    await failing.stop();

    const redelivered: string[] = [];
    const healthy = await consume((records) => {
      redelivered.push(...keysOf(records));
      return Promise.resolve();
    });
    try {
      await waitFor(() => redelivered.length >= 1, { description: "redelivery" });
    } finally {
      await healthy.stop();
    }
    assert.deepEqual(redelivered, [second.key], "only the unhandled record comes back");
  });
});

Deno.test("startConsumer() commits no record of a chunk that failed on a transient fault: redelivered, applied once", async () => {
  await withFixture(async ({ producer, topic, consume, committed }) => {
    const records = Array.from({ length: 3 }, orderRecord);
    const keys = records.map((r) => r.key!);
    await producer.send({ topic, messages: records.map(toMessage) });
    // Effects guarded by an idempotency key (the record's key): a chunk handled again applies
    // nothing twice. Until `healthy`, each chunk is applied and then fails, as a transaction
    // whose commit was acknowledged too late.
    const effects: string[] = [];
    const deliveries: string[][] = [];
    let healthy = false;
    const handler: BatchHandler = (chunk) => {
      deliveries.push(keysOf(chunk));
      for (const key of keysOf(chunk)) if (!effects.includes(key)) effects.push(key);
      if (!healthy) {
        throw new InfrastructureError("Connection lost before the commit was acknowledged");
      }
      return Promise.resolve();
    };
    const failing = await consume(handler);
    await waitFor(() => deliveries.length >= 3, {
      description: "the chunk, then retries of its first record",
    });
    await failing.stop();
    assert.deepEqual(deliveries[0], keys, "one chunk first");
    assert.ok(
      deliveries.slice(1).every((chunk) => chunk.length === 1 && chunk[0] === keys[0]),
      `then the first record alone, retried: ${JSON.stringify(deliveries)}`,
    );
    assert.equal(await committed(), -1, "nothing committed");

    healthy = true;
    const redelivered: string[][] = [];
    const restarted = await consume((chunk, context) => {
      redelivered.push(keysOf(chunk));
      return handler(chunk, context);
    });
    try {
      await waitFor(async () => (await committed()) === 3, { description: "offsets committed" });
    } finally {
      await restarted.stop();
    }
    assert.deepEqual(redelivered, [keys], "the whole chunk comes back");
    assert.deepEqual(effects, keys, "each record applied once");
  });
});

Deno.test("startConsumer() dead-letters a record at the broker's size limit without its value, then keeps consuming", async () => {
  await withFixture(async ({ kafka, producer, topic, outcomes, consume }) => {
    const key = crypto.randomUUID();
    // A value as large as the broker takes (message.max.bytes, 1 MiB + 12 by default, counted
    // compressed) that compression cannot shrink much (random bytes in base64), produced gzip'd.
    // Its dead letter, compressed like every dead letter, carries a reason of 2,000 random
    // characters on top: over the limit, so it goes without its value.
    const noise = randomBytes(1_500_000).toString("base64");
    const reason = `Too big to be an order: ${noise.slice(0, 2_000)}`;
    let size = Math.floor(1_048_588 * 4 / 3);
    while (gzipSync(noise.slice(0, size)).length > 1_048_588 + 4_096) size -= 1_024;
    for (;; size -= 512) {
      try {
        await producer.send({
          topic,
          compression: kafkajs.CompressionTypes.GZIP,
          messages: [{ key, value: noise.slice(0, size) }],
        });
        break;
      } catch (error) {
        if ((error as { type?: string }).type !== "MESSAGE_TOO_LARGE" || size < 1_000_000) {
          throw error;
        }
      }
    }
    const good = orderRecord();
    await producer.send({
      topic,
      messages: [{ key: good.key, value: good.value, headers: good.headers }],
    });
    const handled: string[] = [];
    const consumer = await consume((records) => {
      if (records.some((record) => record.key === key)) throw new MalformedMessageError(reason);
      handled.push(...keysOf(records));
      return Promise.resolve();
    });
    try {
      await waitFor(() => handled.includes(good.key!), {
        timeoutMs: 20_000,
        description: "the record after the oversized one",
      });
    } finally {
      await consumer.stop();
    }
    const [letter] = await readRecords(kafka, TOPICS.ordersDlq, {
      count: 1,
      select: (r) => r.key === key,
    });
    assert.equal(letter?.value, null);
    assert.equal(letter?.headers[DLQ_HEADERS.valueOmitted], String(size));
    assert.equal(letter?.headers[DLQ_HEADERS.error], reason);
    assert.equal(letter?.headers[DLQ_HEADERS.sourceOffset], "0");
    assert.deepEqual(outcomes, ["dlq", "handled"]);
  });
});

Deno.test("startConsumer() keeps the value of a dead letter at the broker's size limit when it compresses", async () => {
  await withFixture(async ({ kafka, producer, topic, consume }) => {
    const key = crypto.randomUUID();
    // Text as large as the broker takes: with its dlq-* headers it would be over the limit, but
    // a dead letter is gzip-compressed, so it keeps its value whole.
    const value = "x".repeat(1_048_588 - 400);
    await producer.send({ topic, messages: [{ key, value }] });
    const consumer = await consume(() => {
      throw new MalformedMessageError("Too big to be an order");
    });
    try {
      const [letter] = await readRecords(kafka, TOPICS.ordersDlq, {
        count: 1,
        select: (r) => r.key === key,
      });
      assert.equal(letter?.value, value);
      assert.equal(letter?.headers[DLQ_HEADERS.valueOmitted], undefined);
    } finally {
      await consumer.stop();
    }
  });
});

Deno.test("restartAfterFatalCrash() brings a kafkajs consumer back after a crash kafkajs gives up on", async () => {
  await withFixture(async ({ kafka, producer, topic, groupId }) => {
    const sent = orderRecord();
    await producer.send({
      topic,
      messages: [{ key: sent.key, value: sent.value, headers: sent.headers }],
    });
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250 });
    const crashes: boolean[] = [];
    consumer.on(consumer.events.CRASH, ({ payload }) => crashes.push(payload.restart));
    const seen: string[] = [];
    const run = () =>
      consumer.run({
        // Batches, as `startConsumer` consumes.
        eachBatch: ({ batch }) => {
          seen.push(...batch.messages.map((message) => message.offset));
          // The first delivery fails in a way kafkajs will not retry nor restart from.
          if (seen.length === 1) {
            throw new kafkajs.KafkaJSNonRetriableError("Simulated fatal error");
          }
          return Promise.resolve();
        },
      });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const stopping = new AbortController();
    const restarts = restartAfterFatalCrash(consumer, run, {
      groupId,
      log: quietLog,
      signal: stopping.signal,
      initialDelayMs: 100,
    });
    try {
      await run();
      await waitFor(() => seen.length >= 2, {
        timeoutMs: 20_000,
        description: "the record again, after the restart",
      });
      assert.deepEqual(crashes, [false], "kafkajs gave up on its own");
      assert.deepEqual(seen.slice(0, 2), ["0", "0"], "the failed record was not skipped");
    } finally {
      stopping.abort();
      await restarts.settled();
      await consumer.disconnect();
    }
  });
});

Deno.test("startConsumer() keeps its group session through a handler that runs past the session timeout", async () => {
  await withFixture(async ({ kafka, producer, topic, groupId }) => {
    const lines: string[] = [];
    const log = createLogger("test", { level: "info", write: (line) => lines.push(line) });
    const handled: string[] = [];
    const slow: BatchHandler = async (records) => {
      // Longer than the 15 s session: only heartbeats sent meanwhile keep the member in.
      if (handled.length === 0) await new Promise((resolve) => setTimeout(resolve, 17_000));
      handled.push(...records.map((record) => record.key ?? ""));
    };
    const [first, second] = [orderRecord(), orderRecord()];
    await producer.send({ topic, messages: [first].map(toMessage) });
    const consumer = await startConsumer(kafka, {
      groupId,
      topics: [topic],
      handler: slow,
      maxRecords: 10,
      producer,
      log,
      retry: fastRetry,
    });
    try {
      await waitFor(() => handled.length === 1, {
        timeoutMs: 40_000,
        description: "the slow chunk",
      });
      // A member evicted meanwhile rejoins before its next fetch: the next record comes after.
      await producer.send({ topic, messages: [second].map(toMessage) });
      await waitFor(() => handled.length >= 2, { timeoutMs: 30_000, description: "the next one" });
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(handled, [first.key, second.key], "each handled once: no redelivery");
    const joins = lines.filter((line) => JSON.parse(line).msg === "Consumer joined its group");
    assert.equal(joins.length, 1, "the member never rejoined");
  });
});

function toMessage(record: ReturnType<typeof orderRecord>) {
  return { key: record.key, value: record.value, headers: record.headers };
}
