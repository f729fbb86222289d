import assert from "node:assert/strict";
import { createPrng } from "../prng.ts";
import { LATENCY_SIGMA, sampleLatency } from "./latency.ts";

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

Deno.test("sampleLatency() has the median it is given and a p99 about three times it", () => {
  const random = createPrng(7).next;
  for (const median of [1, 300, 700]) {
    const samples = Array.from({ length: 200_000 }, () => sampleLatency(median, random));
    samples.sort((a, b) => a - b);
    const p50 = quantile(samples, 0.5);
    const p99 = quantile(samples, 0.99);
    assert.ok(Math.abs(p50 / median - 1) < 0.02, `p50 ${p50} for median ${median}`);
    assert.ok(Math.abs(p99 / median - 3) < 0.1, `p99 ${p99} for median ${median}`);
    // A long tail on the slow side only: the fastest answer is still a good part of the median.
    assert.ok(samples[0]! > 0, "every sample is above 0");
    assert.ok(quantile(samples, 0.01) > median / 4, `p1 ${quantile(samples, 0.01)}`);
  }
});

Deno.test("sampleLatency() repeats itself from the same seed and is 0 for a median of 0", () => {
  const a = createPrng(42);
  const b = createPrng(42);
  const first = Array.from({ length: 5 }, () => sampleLatency(300, a.next));
  const second = Array.from({ length: 5 }, () => sampleLatency(300, b.next));
  assert.deepEqual(first, second);
  assert.equal(new Set(first).size, 5);
  assert.equal(sampleLatency(0, a.next), 0);
  assert.ok(Math.abs(LATENCY_SIGMA - 0.4723) < 0.001);
});

Deno.test("sampleLatency() rejects a negative or non-finite median", () => {
  assert.throws(() => sampleLatency(-1), RangeError);
  assert.throws(() => sampleLatency(Number.NaN), RangeError);
  assert.throws(() => sampleLatency(Number.POSITIVE_INFINITY), RangeError);
});
