import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import kafkajs from "kafkajs";
import xxh32 from "lz4js/xxh32.js";
import { createKafka } from "./client.ts";
import {
  isXerialSnappy,
  LZ4_CODEC,
  lz4Compress,
  lz4Decompress,
  SNAPPY_CODEC,
  snappyCompress,
  snappyDecompress,
  ZSTD_CODEC,
  zstdDecompressFrames,
} from "./codecs.ts";

// Every `*_BY_JAVA` vector is what Kafka 4.1's Java client writes for a record batch
// (`Compression.<codec>().build().wrapForOutput(…, RecordBatch.MAGIC_VALUE_V2)`, with the jars
// in .cache/kafka/lib), captured once as bytes.

const SHORT_TEXT = "order ORDER_CREATED order ORDER_CREATED order ORDER_CREATED ünïcode ✓";
const SNAPPY_SHORT_BY_JAVA =
  "82534e4150505900000000010000000100000027494c6f72646572204f524445525f43524541544544209e14" +
  "0030c3bc6ec3af636f646520e29c93";
const LZ4_SHORT_BY_JAVA =
  "04224d1860408227000000ff056f72646572204f524445525f4352454154454420140015d0c3bc6ec3af636f" +
  "646520e29c9300000000";
const ZSTD_SHORT_BY_JAVA =
  "28b52ffd005844010014026f72646572204f524445525f4352454154454420c3bc6ec3af636f646520e29c93" +
  "01005e3999010000";
/** snappy-java's `Snappy.compress` (one raw block, no framing, as librdkafka writes it). */
const RAW_SNAPPY_BY_JAVA =
  "238872617720736e617070792c206173206c696272646b61666b6120777269746573206974";

/** `lines(10, 40_000)` in two xerial blocks (32 KiB and the rest). */
const SNAPPY_40K_BY_JAVA_BASE64 =
  "glNOQVBQWQAAAAABAAAAAQAABjCAgAIgcmVjb3JkIDAKDQkAMREJADIRCQAzEQkANBEJADURCQA2EQkANxEJADgR" +
  "CQA5EQn+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgB6WgAAAAGCwDggCnJlY29yZCAxEQkAMhEJADMRCQA0EQkANREJADYRCQA3EQkAOBEJ" +
  "ADkRCQAwEQn+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+WgD+" +
  "WgD+WgD+WgD+WgB2WgA=";
/** `lines(10, 70_000)` in two LZ4 blocks (64 KiB and the rest). */
const LZ4_70K_BY_JAVA_BASE64 =
  "BCJNGGBAgjoBAACTcmVjb3JkIDAKCQAUMQkAFDIJABQzCQAUNAkAFDUJABQ2CQAUNwkAFDgJABQ5CQAPWgD/////" +
  "////////////////////////////////////////////////////////////////////////////////////////" +
  "////////////////////////////////////////////////////////////////////////////////////////" +
  "////////////////////////////////////////////////////////////////////////////////////////" +
  "////////////////////////////////////////////////////////////////////////h1Bjb3JkIEgAAACk" +
  "MQpyZWNvcmQgMgkAFDMJABQ0CQAUNQkAFDYJABQ3CQAUOAkAFDkJABQwCQAPWgD//////////////////////w9Q" +
  "Y29yZCAAAAAA";
/** `lines(97, 70_000)`. */
const ZSTD_70K_BY_JAVA_BASE64 =
  "KLUv/QBYHAQAAgcREMBXDlAZ8V/YroiIlDZU4BsjdznNzMyMiIiIiMj///9v27Ztt23btiRJkuS2bdsmSZIkRURE" +
  "RMTIXU4BEAQIB8OgcAhsqCC+ngHAk8o1EhiBhb/+//+/AUwNwzsuryeebQBoTWULaBOS+uc2WQpJo4gMBZDhE937" +
  "k+uYMQsBLQUBAAA=";

/** "record <i mod period>\\n" lines, cut at `length` characters (the vectors' input). */
function lines(period: number, length: number): string {
  let text = "";
  for (let i = 0; text.length < length; i++) text += `record ${i % period}\n`;
  return text.slice(0, length);
}

/** `length` random (incompressible) bytes. */
function noise(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  }
  return bytes;
}

const hex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));
const base64 = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
const utf8 = (bytes: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(bytes);
const bytesOf = (text: string) => new TextEncoder().encode(text);
const xxhash32 =
  (xxh32 as { hash(seed: number, src: Uint8Array, index: number, length: number): number })
    .hash;

Deno.test("snappyDecompress() reads the xerial streams Kafka's Java client writes", () => {
  assert.ok(isXerialSnappy(hex(SNAPPY_SHORT_BY_JAVA)));
  assert.equal(utf8(snappyDecompress(hex(SNAPPY_SHORT_BY_JAVA))), SHORT_TEXT);
  assert.equal(utf8(snappyDecompress(base64(SNAPPY_40K_BY_JAVA_BASE64))), lines(10, 40_000));
});

Deno.test("snappyDecompress() reads a raw snappy block (no xerial header)", () => {
  assert.equal(isXerialSnappy(hex(RAW_SNAPPY_BY_JAVA)), false);
  assert.equal(
    utf8(snappyDecompress(hex(RAW_SNAPPY_BY_JAVA))),
    "raw snappy, as librdkafka writes it",
  );
});

Deno.test("snappyDecompress() reads concatenated xerial streams as one", () => {
  const first = hex(SNAPPY_SHORT_BY_JAVA);
  const second = snappyCompress(bytesOf("and more"));
  assert.equal(utf8(snappyDecompress(Buffer.concat([first, second]))), `${SHORT_TEXT}and more`);
});

Deno.test("snappyCompress() writes a xerial stream of 32 KiB blocks that reads back", () => {
  const input = bytesOf(lines(7, 100_000));
  const compressed = snappyCompress(input);
  assert.equal(
    Buffer.from(compressed.subarray(0, 16)).toString("hex"),
    "82534e41505059000000000100000001",
  );
  const view = new DataView(compressed.buffer, compressed.byteOffset, compressed.byteLength);
  let blocks = 0;
  for (let at = 16; at < compressed.length; at += 4 + view.getInt32(at)) blocks++;
  assert.equal(blocks, 4, "100,000 bytes make 4 blocks of at most 32 KiB");
  assert.deepEqual(snappyDecompress(compressed), input);
  assert.deepEqual(snappyDecompress(snappyCompress(new Uint8Array())), new Uint8Array());
  const random = noise(50_000);
  assert.deepEqual(snappyDecompress(snappyCompress(random)), random);
});

Deno.test("snappyDecompress() names snappy when a xerial block is cut short or invalid", () => {
  const whole = hex(SNAPPY_SHORT_BY_JAVA);
  assert.throws(() => snappyDecompress(whole.subarray(0, whole.length - 3)), {
    message:
      /^Cannot decompress a snappy record batch: the block at byte 16 claims 39 bytes, 36 remain$/,
  });
  const garbled = whole.slice();
  garbled[20] = 0xff; // the block's varint length now runs on
  assert.throws(
    () => snappyDecompress(garbled),
    /^RangeError: Cannot decompress a snappy record batch/,
  );
});

Deno.test("lz4Decompress() reads the LZ4 frames Kafka's Java client writes", () => {
  assert.equal(utf8(lz4Decompress(hex(LZ4_SHORT_BY_JAVA))), SHORT_TEXT);
  assert.equal(utf8(lz4Decompress(base64(LZ4_70K_BY_JAVA_BASE64))), lines(10, 70_000));
});

Deno.test("lz4Compress() writes independent 64 KiB blocks (what Kafka accepts) that read back", () => {
  const input = bytesOf(lines(13, 200_000));
  const compressed = lz4Compress(input);
  assert.equal(compressed[4], 0x60, "frame version 1, independent blocks, no checksums");
  assert.equal(compressed[5], 0x40, "64 KiB blocks");
  assert.equal(compressed[6], (xxhash32(0, compressed, 4, 2) >>> 8) & 0xff, "header checksum");
  assert.ok(compressed.length < input.length / 10);
  assert.deepEqual(lz4Decompress(compressed), input);
  assert.deepEqual(lz4Decompress(lz4Compress(new Uint8Array())), new Uint8Array());
  const random = noise(150_000); // stored blocks
  assert.deepEqual(lz4Decompress(lz4Compress(random)), random);
});

/** One LZ4 frame of `content` in one stored block, with every optional field of the format. */
function frameWithEveryOption(content: Uint8Array, contentChecksum: number): Uint8Array {
  const descriptor = [0x40 | 0x20 | 0x10 | 0x08 | 0x04 | 0x01, 0x40];
  const options = [
    ...new Uint8Array(new BigUint64Array([BigInt(content.length)]).buffer),
    7,
    0,
    0,
    0,
  ];
  const frame = [0x04, 0x22, 0x4d, 0x18, ...descriptor, ...options, 0];
  const block = new Uint8Array(4);
  new DataView(block.buffer).setUint32(0, (content.length | 0x80000000) >>> 0, true);
  const trailer = new Uint8Array(4);
  new DataView(trailer.buffer).setUint32(0, contentChecksum, true);
  return Buffer.concat([
    Uint8Array.from(frame),
    block,
    content,
    Uint8Array.of(1, 2, 3, 4), // the block checksum (not verified)
    new Uint8Array(4), // end mark
    trailer,
  ]);
}

Deno.test("lz4Decompress() reads frames with content size, dictionary id and checksums, and verifies the content checksum", () => {
  const content = bytesOf("stored, with every option");
  const checksum = xxhash32(0, content, 0, content.length) >>> 0;
  const frame = frameWithEveryOption(content, checksum);
  assert.equal(utf8(lz4Decompress(frame)), "stored, with every option");
  assert.equal(
    utf8(lz4Decompress(Buffer.concat([frame, hex(LZ4_SHORT_BY_JAVA)]))),
    `stored, with every option${SHORT_TEXT}`,
  );
  assert.throws(() => lz4Decompress(frameWithEveryOption(content, checksum ^ 1)), {
    message: "Cannot decompress an lz4 record batch: the content checksum does not match",
  });
});

Deno.test("lz4Decompress() names lz4 when the input is not an LZ4 frame or is cut short", () => {
  assert.throws(() => lz4Decompress(hex(ZSTD_SHORT_BY_JAVA)), {
    message: "Cannot decompress an lz4 record batch: no LZ4 frame magic number at byte 0",
  });
  const whole = hex(LZ4_SHORT_BY_JAVA);
  assert.throws(() => lz4Decompress(whole.subarray(0, whole.length - 2)), {
    message: /^Cannot decompress an lz4 record batch: it ends inside a block size at byte/,
  });
});

Deno.test("zstdDecompressFrames() reads the zstd frames Kafka's Java client writes", () => {
  assert.equal(utf8(zstdDecompressFrames(hex(ZSTD_SHORT_BY_JAVA))), SHORT_TEXT);
  assert.equal(utf8(zstdDecompressFrames(base64(ZSTD_70K_BY_JAVA_BASE64))), lines(97, 70_000));
  assert.throws(
    () => zstdDecompressFrames(hex(LZ4_SHORT_BY_JAVA)),
    /^RangeError: Cannot decompress a zstd record batch: /,
  );
});

Deno.test("the codecs hand kafkajs Buffers, and zstd compression is refused by name", async () => {
  const batch = Buffer.from(bytesOf(SHORT_TEXT));
  for (const codec of [SNAPPY_CODEC, LZ4_CODEC]) {
    const compressed = await codec.compress({ buffer: batch });
    assert.ok(Buffer.isBuffer(compressed));
    const decompressed = await codec.decompress(compressed);
    assert.ok(Buffer.isBuffer(decompressed));
    assert.equal(decompressed.toString("utf8"), SHORT_TEXT);
  }
  const fromJava = await ZSTD_CODEC.decompress(Buffer.from(hex(ZSTD_SHORT_BY_JAVA)));
  assert.ok(Buffer.isBuffer(fromJava));
  assert.equal(fromJava.toString("utf8"), SHORT_TEXT);
  await assert.rejects(ZSTD_CODEC.compress({ buffer: batch }), {
    message: /^Cannot compress a record batch with zstd: /,
  });
});

Deno.test("createKafka() registers the snappy, lz4 and zstd codecs with kafkajs", () => {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  createKafka({ brokers: ["127.0.0.1:9"], clientId: "codecs-test" });
  assert.equal(CompressionCodecs[CompressionTypes.Snappy](), SNAPPY_CODEC);
  assert.equal(CompressionCodecs[CompressionTypes.LZ4](), LZ4_CODEC);
  assert.equal(CompressionCodecs[CompressionTypes.ZSTD](), ZSTD_CODEC);
});
