import assert from "node:assert/strict";
import { capacityRatio, latencyRates, searchCapacity } from "./capacity.ts";

/** A pipeline that keeps up to `capacity`/s; records the rates it was offered. */
function pipeline(capacity: number) {
  const offered: number[] = [];
  return {
    offered,
    keepsUp: (rate: number) => {
      offered.push(rate);
      return Promise.resolve(rate <= capacity);
    },
  };
}

Deno.test("searchCapacity: doubles, then bisects to within 10 %, in few steps", async () => {
  const p = pipeline(118);
  const found = await searchCapacity({ startRate: 10, maxRate: 4_000 }, p.keepsUp);
  assert.deepEqual(p.offered.slice(0, 5), [10, 20, 40, 80, 160]);
  assert.equal(found.capped, false);
  assert.ok(found.capacity <= 118 && found.capacity >= 118 / 1.1, `capacity ${found.capacity}`);
  assert.ok(p.offered.length <= 5 + 3, `${p.offered.length} steps`);
});

Deno.test("searchCapacity: stops at the highest rate, capped", async () => {
  const p = pipeline(1_000_000);
  assert.deepEqual(await searchCapacity({ startRate: 5, maxRate: 30 }, p.keepsUp), {
    capacity: 30,
    capped: true,
  });
  assert.deepEqual(p.offered, [5, 10, 20, 30]);
});

Deno.test("searchCapacity: halves a first rate that does not keep up, then bisects", async () => {
  const p = pipeline(30);
  const found = await searchCapacity({ startRate: 100, maxRate: 4_000 }, p.keepsUp);
  assert.deepEqual(p.offered.slice(0, 3), [100, 50, 25]);
  assert.ok(found.capacity >= 25 && found.capacity <= 30, `capacity ${found.capacity}`);
  const none = pipeline(0);
  assert.deepEqual(await searchCapacity({ startRate: 8, maxRate: 100 }, none.keepsUp), {
    capacity: 0,
    capped: false,
  });
  assert.deepEqual(none.offered, [8, 4, 2, 1]);
});

Deno.test("latencyRates and capacityRatio", () => {
  assert.deepEqual(latencyRates(120), { "10": 10, "50%": 60, "90%": 108 });
  assert.deepEqual(latencyRates(1), { "10": 10, "50%": 1, "90%": 1 });
  assert.equal(capacityRatio(120, 1_000), 0.12);
  assert.equal(capacityRatio(120, 0), null);
  assert.equal(capacityRatio(undefined, 10), null);
});
