import assert from "node:assert/strict";
import { createPrng, parseSeed } from "./prng.ts";

Deno.test("createPrng() replays the same stream for the same seed, another for another seed", () => {
  const draw = (seed: number) => {
    const rng = createPrng(seed);
    return [rng.next(), rng.int(1, 6), rng.uuid(), rng.pick(["a", "b", "c"])];
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
});

Deno.test("createPrng() keeps every draw in its range", () => {
  const rng = createPrng(7);
  for (let i = 0; i < 10_000; i++) {
    const f = rng.next();
    assert.ok(f >= 0 && f < 1);
    const n = rng.int(-2, 2);
    assert.ok(Number.isInteger(n) && n >= -2 && n <= 2);
    assert.ok(rng.exponential(100) >= 0);
  }
  const seen = new Set(Array.from({ length: 1_000 }, () => rng.int(1, 3)));
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
});

Deno.test("createPrng() makes version-4 UUIDs and picks by weight", () => {
  const rng = createPrng(1);
  assert.match(rng.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const counts = { a: 0, b: 0 };
  for (let i = 0; i < 10_000; i++) {
    counts[
      rng.weighted([{ value: "a" as const, weight: 3 }, { value: "b" as const, weight: 1 }])
    ]++;
  }
  assert.ok(counts.a > 7_000 && counts.a < 8_000, JSON.stringify(counts));
  assert.throws(() => rng.weighted([{ value: 1, weight: 0 }]), RangeError);
  assert.throws(() => rng.pick([]), RangeError);
});

Deno.test("createPrng().fork() gives independent streams that a seed still replays", () => {
  const a = createPrng(5).fork("orders");
  const b = createPrng(5).fork("faults");
  assert.notEqual(a.next(), b.next());
  assert.equal(createPrng(5).fork("orders").next(), createPrng(5).fork("orders").next());
});

Deno.test("parseSeed() takes integers as they are and hashes other text", () => {
  assert.equal(parseSeed("42"), 42);
  assert.equal(parseSeed(" 4294967297 "), 1);
  assert.equal(parseSeed("nightly"), parseSeed("nightly"));
  assert.notEqual(parseSeed("nightly"), parseSeed("nightly2"));
  assert.throws(() => parseSeed(" "), RangeError);
});
