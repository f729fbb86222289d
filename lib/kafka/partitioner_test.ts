import assert from "node:assert/strict";
import { Partitioners } from "kafkajs";
import { keyHash, partitionOf } from "./partitioner.ts";

/** kafkajs's own default partitioner, which every producer here uses. */
function kafkajsPartition(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({
    topic: "t",
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      partitionErrorCode: 0,
    })),
    message: { key, value: null },
  });
}

Deno.test("partitionOf() picks the partition kafkajs's default partitioner picks", () => {
  const keys = [
    "",
    "a",
    "ab",
    "abc",
    "abcd",
    "ünïcødé key",
    ...Array.from({ length: 2_000 }, () => crypto.randomUUID()),
  ];
  for (const key of keys) {
    for (const partitions of [1, 2, 3, 6, 7, 12, 64]) {
      assert.equal(partitionOf(key, partitions), kafkajsPartition(key, partitions), `"${key}"`);
    }
  }
});

Deno.test("keyHash() is the non-negative hash partitionOf() takes modulo the partition count", () => {
  for (let i = 0; i < 200; i++) {
    const key = crypto.randomUUID();
    assert.ok(keyHash(key) >= 0 && keyHash(key) <= 0x7fffffff);
    assert.equal(keyHash(key) % 5, partitionOf(key, 5));
  }
});

Deno.test("partitionOf() refuses a partition count that is not a positive integer", () => {
  assert.throws(() => partitionOf("k", 0), RangeError);
  assert.throws(() => partitionOf("k", 1.5), RangeError);
});
