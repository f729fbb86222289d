import assert from "node:assert/strict";
import { percentile, summarize } from "./stats.ts";

Deno.test("percentile: nearest rank over sorted values", () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile([7], 50), 7);
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 0), RangeError);
});

Deno.test("summarize: count, mean, percentiles and max; null for no values", () => {
  assert.equal(summarize([]), null);
  assert.deepEqual(summarize([4, 1, 3, 2]), {
    count: 4,
    mean: 2.5,
    p50: 2,
    p95: 4,
    p99: 4,
    max: 4,
  });
});
