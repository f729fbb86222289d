/**
 * Where a keyed record lands: the partition kafkajs's default partitioner picks (and Java's,
 * whose murmur2 it copies), computed without a producer, so a consumer can tell which of a
 * topic's partitions carries the records of a key.
 */

/** The positive murmur2 hash of `key`'s UTF-8 bytes, as Kafka's default partitioner takes it. */
export function keyHash(key: string): number {
  return murmur2(new TextEncoder().encode(key)) & 0x7fffffff;
}

/** The partition of a topic with `partitions` partitions that records keyed `key` go to. */
export function partitionOf(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(
      `Cannot find the partition of key "${key}": partitions must be an integer >= 1, got ${partitions}`,
    );
  }
  return keyHash(key) % partitions;
}

/** Kafka's murmur2 (seed 0x9747b28c), as a signed 32-bit integer. */
function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The last one to three bytes, highest first (Java's switch falls through).
  const rest = length & 3;
  if (rest >= 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
