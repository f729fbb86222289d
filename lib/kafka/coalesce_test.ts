import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { KafkaMessage } from "kafkajs";
import { coalescing } from "./coalesce.ts";
import { type ConsumedRecord, fromKafkaMessage } from "./records.ts";

const signal = new AbortController().signal;

/** `count` records of `partition`, offsets from 0. */
function records(partition: number, count: number): ConsumedRecord[] {
  return Array.from({ length: count }, (_, offset) =>
    fromKafkaMessage("t", partition, {
      key: Buffer.from(`p${partition}`),
      value: Buffer.from(`p${partition}-${offset}`),
      headers: {},
      offset: String(offset),
      timestamp: "0",
      attributes: 0,
    } as unknown as KafkaMessage));
}

const values = (chunk: readonly ConsumedRecord[]) => chunk.map((r) => r.value);

/** A handler that notes each call's records and fails when `fails` says so. */
function noting(fails: (chunk: readonly ConsumedRecord[]) => boolean = () => false) {
  const calls: (string | null)[][] = [];
  return {
    calls,
    handler: (chunk: readonly ConsumedRecord[]) => {
      calls.push(values(chunk));
      return fails(chunk) ? Promise.reject(new Error("poison")) : Promise.resolve();
    },
  };
}

Deno.test("coalescing() hands the chunks of one fetch to the handler in one call, each partition's records in order", async () => {
  const { calls, handler } = noting();
  const handle = coalescing(handler, { maxRecords: 100 });
  await Promise.all(
    [records(0, 2), records(1, 1), records(2, 3)].map((c) => handle(c, { signal })),
  );
  assert.deepEqual(calls, [["p0-0", "p0-1", "p1-0", "p2-0", "p2-1", "p2-2"]]);
});

Deno.test("coalescing() hands a lone chunk over as it is, and one at most maxRecords in all", async () => {
  const { calls, handler } = noting();
  const handle = coalescing(handler, { maxRecords: 4 });
  await handle(records(0, 2), { signal });
  await Promise.all(
    [records(0, 3), records(1, 1), records(2, 2), records(3, 5)].map((c) => handle(c, { signal })),
  );
  assert.deepEqual(calls.map((c) => c.length), [2, 4, 2, 5]);
});

Deno.test("coalescing() handles each chunk alone when the merged one fails: only the poison's caller fails", async () => {
  const { calls, handler } = noting((chunk) => chunk.some((r) => r.value === "p1-0"));
  const handle = coalescing(handler, { maxRecords: 100 });
  const outcomes = await Promise.allSettled(
    [records(0, 1), records(1, 1), records(2, 1)].map((c) => handle(c, { signal })),
  );
  assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
  assert.deepEqual(calls, [["p0-0", "p1-0", "p2-0"], ["p0-0"], ["p1-0"], ["p2-0"]]);
});

Deno.test("coalescing() merges the chunks handed over during a call into the next one", async () => {
  const calls: (string | null)[][] = [];
  let release!: () => void;
  const first = new Promise<void>((resolve) => (release = resolve));
  const handle = coalescing((chunk) => {
    calls.push(values(chunk));
    return calls.length === 1 ? first : Promise.resolve();
  }, { maxRecords: 100 });
  const busy = handle(records(0, 1), { signal });
  await new Promise((resolve) => setTimeout(resolve, 5));
  const later = [handle(records(1, 1), { signal }), handle(records(2, 1), { signal })];
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(calls.length, 1, "nothing else runs while the handler is busy");
  release();
  await Promise.all([busy, ...later]);
  assert.deepEqual(calls, [["p0-0"], ["p1-0", "p2-0"]]);
});

Deno.test("coalescing() settles every caller when the handler throws synchronously (a record it cannot decode)", async () => {
  const calls: (string | null)[][] = [];
  const handle = coalescing((chunk) => {
    calls.push(values(chunk));
    if (chunk.some((r) => r.value === "p1-0")) throw new Error("not a message");
    return Promise.resolve();
  }, { maxRecords: 100 });
  const outcomes = await Promise.allSettled(
    [records(0, 1), records(1, 1), records(2, 1)].map((c) => handle(c, { signal })),
  );
  assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
  await handle(records(3, 1), { signal }); // and it goes on handling
  assert.deepEqual(calls.at(-1), ["p3-0"]);
});
