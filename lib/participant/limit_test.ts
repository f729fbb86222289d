import assert from "node:assert/strict";
import { createLimit } from "./limit.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

Deno.test("createLimit() runs at most its bound at once and the rest in arrival order", async () => {
  const limit = createLimit(2);
  const gates = Array.from({ length: 5 }, deferred);
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const all = gates.map((gate, index) =>
    limit(async () => {
      started.push(index);
      most = Math.max(most, ++running);
      await gate.promise;
      running--;
      return index;
    })
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  gates[1]!.resolve();
  gates[0]!.resolve();
  for (const gate of gates.slice(2)) gate.resolve();
  assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
});

Deno.test("createLimit() frees the slot of a call that rejects", async () => {
  const limit = createLimit(1);
  await assert.rejects(limit(() => Promise.reject(new Error("Refused"))), /Refused/);
  assert.equal(await limit(() => Promise.resolve("next")), "next");
});

Deno.test("createLimit() rejects a bound below 1 or not an integer", () => {
  assert.throws(() => createLimit(0), RangeError);
  assert.throws(() => createLimit(1.5), RangeError);
});
