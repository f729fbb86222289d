/**
 * The Snappy, LZ4 and ZSTD codecs kafkajs lacks (it reads only gzip), in plain JavaScript, so a
 * record batch compressed by any producer (Kafka's Java client, librdkafka, …) is ordinary input.
 */
import { Buffer } from "node:buffer";
import kafkajs from "kafkajs";
import snappyjs from "snappyjs";
import lz4js from "lz4js";
import xxh32 from "lz4js/xxh32.js";
import { decompress as zstdDecompress } from "fzstd";

/** A kafkajs compression codec: what `CompressionCodecs[type]()` returns. */
export interface KafkaCodec {
  /** Compresses the encoded records of a batch. */
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  /** Decompresses the records of a fetched batch. */
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** The parts of snappyjs used here (the package ships no types). */
const snappy = snappyjs as {
  compress(uncompressed: Uint8Array): Uint8Array;
  uncompress(compressed: Uint8Array): Uint8Array;
};

/** The parts of lz4js used here (the package ships no types). */
const lz4 = lz4js as {
  compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
  decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
};
const xxhash32 =
  (xxh32 as { hash(seed: number, src: Uint8Array, index: number, length: number): number })
    .hash;

/** snappy-java's stream header (`SnappyOutputStream`, what Kafka's Java client writes). */
const XERIAL_MAGIC = Uint8Array.of(0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00);
/** Magic, then version and minimum compatible version (int32 big-endian each). */
const XERIAL_HEADER_LENGTH = 16;
/** snappy-java's default block size. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function startsWithXerialMagic(bytes: Uint8Array, at: number): boolean {
  if (bytes.length - at < XERIAL_MAGIC.length) return false;
  return XERIAL_MAGIC.every((byte, i) => bytes[at + i] === byte);
}

/** True when `bytes` is a snappy-java (xerial) stream rather than one raw snappy block. */
export function isXerialSnappy(bytes: Uint8Array): boolean {
  return bytes.length >= XERIAL_HEADER_LENGTH && startsWithXerialMagic(bytes, 0);
}

/**
 * Decompresses snappy as Kafka clients write it: a snappy-java (xerial) stream — magic header,
 * then blocks each prefixed by its big-endian int32 length, possibly several streams
 * concatenated — or a raw snappy block (librdkafka, kafkajs-snappy).
 */
export function snappyDecompress(bytes: Uint8Array): Uint8Array {
  if (!isXerialSnappy(bytes)) return rawSnappyDecompress(bytes, "the raw snappy block");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uint8Array[] = [];
  let at = XERIAL_HEADER_LENGTH;
  while (at < bytes.length) {
    if (startsWithXerialMagic(bytes, at)) {
      at += XERIAL_HEADER_LENGTH;
      continue;
    }
    if (bytes.length - at < 4) {
      throw new RangeError(
        `Cannot decompress a snappy record batch: ${bytes.length - at} stray byte(s) at byte ${at}`,
      );
    }
    const length = view.getInt32(at);
    at += 4;
    if (length < 0 || length > bytes.length - at) {
      throw new RangeError(
        `Cannot decompress a snappy record batch: the block at byte ${
          at - 4
        } claims ${length} bytes, ${bytes.length - at} remain`,
      );
    }
    blocks.push(
      rawSnappyDecompress(bytes.subarray(at, at + length), `the block at byte ${at - 4}`),
    );
    at += length;
  }
  return concat(blocks);
}

function rawSnappyDecompress(bytes: Uint8Array, what: string): Uint8Array {
  try {
    return snappy.uncompress(plain(bytes));
  } catch (error) {
    throw new RangeError(
      `Cannot decompress a snappy record batch: ${what} is not valid snappy (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
}

/** Compresses as Kafka's Java client does: a snappy-java (xerial) stream of 32 KiB blocks. */
export function snappyCompress(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [xerialHeader()];
  for (let at = 0; at < bytes.length; at += XERIAL_BLOCK_SIZE) {
    const block = snappy.compress(plain(bytes.subarray(at, at + XERIAL_BLOCK_SIZE)));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setInt32(0, block.length);
    parts.push(length, block);
  }
  return concat(parts);
}

function xerialHeader(): Uint8Array {
  const header = new Uint8Array(XERIAL_HEADER_LENGTH);
  header.set(XERIAL_MAGIC);
  const view = new DataView(header.buffer);
  view.setInt32(8, 1); // version
  view.setInt32(12, 1); // minimum compatible version
  return header;
}

const LZ4_FRAME_MAGIC = 0x184d2204;
const LZ4_BLOCK_SIZES: Record<number, number> = {
  4: 64 << 10,
  5: 256 << 10,
  6: 1 << 20,
  7: 4 << 20,
};

/**
 * Decompresses LZ4 frames (what Kafka's `lz4` means since message format v1): any block size,
 * independent or linked blocks, optional content size, dictionary id and block checksums,
 * skippable frames; the content checksum is verified when present.
 */
export function lz4Decompress(bytes: Uint8Array): Uint8Array {
  const fail = (problem: string): never => {
    throw new RangeError(`Cannot decompress an lz4 record batch: ${problem}`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (at: number, count: number, what: string) => {
    if (bytes.length - at < count) fail(`it ends inside ${what} at byte ${at}`);
  };
  let out: Uint8Array = new Uint8Array(Math.max(64, bytes.length * 4));
  let size = 0;
  let at = 0;
  while (at < bytes.length) {
    need(at, 4, "a frame's magic number");
    const magic = view.getUint32(at, true);
    if ((magic & 0xfffffff0) === 0x184d2a50) { // a skippable frame
      need(at + 4, 4, "a skippable frame's size");
      at += 8 + view.getUint32(at + 4, true);
      if (at > bytes.length) fail("a skippable frame runs past the end");
      continue;
    }
    if (magic !== LZ4_FRAME_MAGIC) fail(`no LZ4 frame magic number at byte ${at}`);
    need(at + 4, 3, "a frame descriptor");
    const flags = bytes[at + 4]!;
    const blockSize = LZ4_BLOCK_SIZES[(bytes[at + 5]! >> 4) & 7];
    if ((flags >> 6) !== 1) fail(`frame version ${flags >> 6} at byte ${at} is not 1`);
    if (blockSize === undefined) fail(`invalid block size id at byte ${at + 5}`);
    const blockChecksums = (flags & 0x10) !== 0;
    const contentChecksum = (flags & 0x04) !== 0;
    at += 6 + ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1;
    const frameStart = size;
    while (true) {
      need(at, 4, "a block size");
      const word = view.getUint32(at, true);
      at += 4;
      if (word === 0) break; // end mark
      const length = word & 0x7fffffff;
      need(at, length + (blockChecksums ? 4 : 0), "a block");
      if (size + blockSize! > out.length) out = grown(out, size + blockSize!);
      if ((word & 0x80000000) !== 0) { // stored uncompressed
        if (length > blockSize!) {
          fail(`a block at byte ${at - 4} is larger than the frame's blocks`);
        }
        out.set(bytes.subarray(at, at + length), size);
        size += length;
      } else {
        const end = lz4.decompressBlock(bytes, out, at, length, size);
        if (end > size + blockSize!) fail(`a block at byte ${at - 4} expands past the block size`);
        size = end;
      }
      at += length + (blockChecksums ? 4 : 0);
    }
    if (contentChecksum) {
      need(at, 4, "the content checksum");
      const expected = view.getUint32(at, true);
      if ((xxhash32(0, out, frameStart, size - frameStart) >>> 0) !== expected) {
        fail("the content checksum does not match");
      }
      at += 4;
    }
  }
  return out.subarray(0, size);
}

function grown(bytes: Uint8Array, atLeast: number): Uint8Array {
  const larger = new Uint8Array(Math.max(atLeast, bytes.length * 2));
  larger.set(bytes);
  return larger;
}

/** Kafka's LZ4 block size (`Lz4BlockOutputStream`): 64 KiB, block size id 4. */
const LZ4_BLOCK_SIZE = 64 << 10;

/**
 * Compresses to one LZ4 frame as Kafka's Java client writes it: independent 64 KiB blocks, no
 * checksums but the header's (Kafka refuses linked blocks, which `lz4js.compress` writes).
 */
export function lz4Compress(bytes: Uint8Array): Uint8Array {
  const header = Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0);
  header[6] = (xxhash32(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Uint8Array[] = [header];
  const hashTable = new Uint32Array(1 << 16);
  const compressed = new Uint8Array(LZ4_BLOCK_SIZE + (LZ4_BLOCK_SIZE >> 8) + 16);
  for (let at = 0; at < bytes.length; at += LZ4_BLOCK_SIZE) {
    const block = bytes.subarray(at, at + LZ4_BLOCK_SIZE);
    hashTable.fill(0); // a fresh table per block keeps every match inside its block
    const length = lz4.compressBlock(block, compressed, 0, block.length, hashTable);
    const stored = length === 0 || length >= block.length;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(
      0,
      stored ? (block.length | 0x80000000) >>> 0 : length,
      true,
    );
    parts.push(size, stored ? block : compressed.slice(0, length));
  }
  parts.push(new Uint8Array(4)); // end mark
  return concat(parts);
}

/** Decompresses zstd frames (one or several, skippable frames skipped). */
export function zstdDecompressFrames(bytes: Uint8Array): Uint8Array {
  try {
    return zstdDecompress(plain(bytes));
  } catch (error) {
    throw new RangeError(
      `Cannot decompress a zstd record batch: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
}

/** A codec for kafkajs from synchronous compress and decompress functions. */
function codec(
  compress: (bytes: Uint8Array) => Uint8Array,
  decompress: (bytes: Uint8Array) => Uint8Array,
): KafkaCodec {
  return {
    compress: (encoder) => Promise.resolve().then(() => asBuffer(compress(encoder.buffer))),
    decompress: (buffer) => Promise.resolve().then(() => asBuffer(decompress(buffer))),
  };
}

/** Snappy for kafkajs: reads xerial and raw, writes xerial (as Kafka's Java client). */
export const SNAPPY_CODEC: KafkaCodec = codec(snappyCompress, snappyDecompress);

/** LZ4 (frame format) for kafkajs. */
export const LZ4_CODEC: KafkaCodec = codec(lz4Compress, lz4Decompress);

/** ZSTD for kafkajs: reads only, as no plain-JavaScript zstd compressor is at hand. */
export const ZSTD_CODEC: KafkaCodec = codec(() => {
  throw new TypeError(
    "Cannot compress a record batch with zstd: only zstd decompression is available here; produce with gzip, snappy, lz4 or no compression",
  );
}, zstdDecompressFrames);

/** Registers the Snappy, LZ4 and ZSTD codecs with kafkajs, for all its clients (idempotent). */
export function registerCompressionCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = () => SNAPPY_CODEC;
  CompressionCodecs[CompressionTypes.LZ4] = () => LZ4_CODEC;
  CompressionCodecs[CompressionTypes.ZSTD] = () => ZSTD_CODEC;
}

/** `bytes` as a plain `Uint8Array` view (snappyjs treats a `Buffer` differently). */
function plain(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : bytes;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
