/**
 * Compressed input through the real broker: batches compressed by Kafka's Java producer with each
 * of Kafka's four codecs reach the consumer runner (batch mode, as the services run it) exactly.
 */
import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import type { Kafka } from "kafkajs";
import { waitFor } from "../async/mod.ts";
import { createLogger } from "../log/mod.ts";
import {
  type ConsoleCompression,
  type ConsoleRecord,
  produceWithConsoleProducer,
} from "../../testing/console_producer.ts";
import { testInfra } from "../../testing/infra.ts";
import { createTestTopics, deleteTestTopics, testKafka } from "../../testing/kafka.ts";
import type { KafkaCodec } from "./codecs.ts";
import { type BatchHandler, type RecordOutcome, startConsumer } from "./consumer.ts";
import { connectProducer } from "./producer.ts";
import type { ConsumedRecord } from "./records.ts";

const quietLog = createLogger("test", { level: "error" });
const { CompressionCodecs, CompressionTypes } = kafkajs;
type Codec = Exclude<ConsoleCompression, "none">;
type CompressedType = Exclude<kafkajs.CompressionTypes, kafkajs.CompressionTypes.None>;
const TYPES: Record<Codec, CompressedType> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** Records alike enough to compress well, each with its own key, value and headers. */
function sampleRecords(count: number): ConsoleRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const orderId = crypto.randomUUID();
    return {
      key: orderId,
      value: JSON.stringify({
        orderId,
        customerEmail: `zoë.${i}@example.com`,
        note: "Grüße ✓ ".repeat(1 + (i % 5)),
        items: [{ productId: crypto.randomUUID(), quantity: 1 + i, unitPriceCents: 1_299 }],
      }),
      headers: {
        metadata: JSON.stringify({ eventType: "ORDER_CREATED", eventId: crypto.randomUUID() }),
        "x-line": String(i),
      },
    };
  });
}

/** What the consumer runner handed over, in the shape it was produced. */
const asProduced = (record: ConsumedRecord): ConsoleRecord => ({
  key: record.key ?? "<null>",
  value: record.value ?? "<null>",
  headers: record.headers,
});

/**
 * Runs `produce` on a fresh topic, consumes with `startConsumer` until `count` records arrived,
 * and returns them with the number of batches kafkajs decompressed with `codec`.
 */
async function consumeProduced(
  codec: Codec,
  count: number,
  produce: (kafka: Kafka, topic: string) => Promise<void>,
): Promise<{ received: ConsoleRecord[]; decompressed: number; outcomes: RecordOutcome[] }> {
  const kafka = await testKafka("codecs-test"); // registers the codecs (createKafka)
  const [topic] = await createTestTopics(kafka, [`codecs-${codec}`]);
  const type = TYPES[codec];
  const registered = CompressionCodecs[type] as () => KafkaCodec;
  let decompressed = 0;
  CompressionCodecs[type] = () => {
    const inner = registered();
    return {
      compress: (encoder) => inner.compress(encoder),
      decompress: (buffer) => {
        decompressed++;
        return inner.decompress(buffer);
      },
    } satisfies KafkaCodec;
  };
  const producer = await connectProducer(kafka);
  try {
    await produce(kafka, topic!);
    const received: ConsumedRecord[] = [];
    const outcomes: RecordOutcome[] = [];
    const handler: BatchHandler = (records) => {
      received.push(...records);
      return Promise.resolve();
    };
    const consumer = await startConsumer(kafka, {
      groupId: `test-codecs-${crypto.randomUUID()}`,
      topics: [topic!],
      handler,
      producer,
      log: quietLog,
      onOutcome: (_topic, outcome) => outcomes.push(outcome),
    });
    try {
      await waitFor(() => received.length >= count, {
        timeoutMs: 30_000,
        description: `${count} ${codec} record(s) (got ${received.length})`,
      });
    } finally {
      await consumer.stop();
    }
    return { received: received.map(asProduced), decompressed, outcomes };
  } finally {
    CompressionCodecs[type] = registered;
    await producer.disconnect();
    await deleteTestTopics(kafka, [topic!]);
  }
}

for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
  Deno.test(`startConsumer() reads ${codec} batches from Kafka's Java producer: keys, values and headers exact`, async () => {
    const sent = sampleRecords(60);
    const { received, decompressed, outcomes } = await consumeProduced(
      codec,
      sent.length,
      async (_kafka, topic) => {
        const { kafkaBrokers } = await testInfra(["kafka"]);
        await produceWithConsoleProducer({
          brokers: kafkaBrokers,
          topic,
          records: sent,
          compression: codec,
        });
      },
    );
    assert.ok(decompressed > 0, `the records came in ${codec} batches`);
    assert.deepEqual(received, sent);
    assert.ok(outcomes.every((o) => o === "handled"), `outcomes: ${outcomes.join(", ")}`);
  });
}

for (const codec of ["snappy", "lz4"] as const) {
  Deno.test(`a kafkajs producer can compress with ${codec}: the broker accepts the batch, the consumer reads it`, async () => {
    const sent = sampleRecords(30);
    const { received, decompressed } = await consumeProduced(
      codec,
      sent.length,
      async (kafka, topic) => {
        const producer = await connectProducer(kafka);
        try {
          await producer.send({ topic, compression: TYPES[codec], messages: sent });
        } finally {
          await producer.disconnect();
        }
      },
    );
    assert.ok(decompressed > 0, `the records came in ${codec} batches`);
    assert.deepEqual(received, sent);
  });
}
