import assert from "node:assert/strict";
import { coalescing, createLoadGenerator, type LoadGenerator } from "./load.ts";

/** A fake system: every produced order finishes `afterMs` later. */
function finishing(afterMs: number, generator: () => LoadGenerator) {
  return (orderIds: readonly string[]) => {
    for (const id of orderIds) setTimeout(() => generator().observe(id, "COMPLETED"), afterMs);
    return Promise.resolve();
  };
}

Deno.test("open loop: offers the planned rate and measures what finishes in the window", async () => {
  let starts = 0;
  let ends = 0;
  const load: LoadGenerator = createLoadGenerator(
    {
      mode: "open",
      rate: 100,
      concurrency: 1,
      warmupMs: 100,
      durationMs: 500,
      drainTimeoutMs: 1_000,
    },
    {
      produce: finishing(5, () => load),
      onWindowStart: () => starts++,
      onWindowEnd: () => ends++,
    },
  );
  const result = await load.run();
  assert.equal(starts, 1);
  assert.equal(ends, 1);
  assert.ok(Math.abs(result.issued.window - 50) <= 10, `issued ${result.issued.window}`);
  assert.equal(result.outcomes.COMPLETED, result.issued.window);
  assert.equal(result.unfinished.total, 0);
  assert.ok(result.latency !== null && result.latency.p50 >= 4);
  assert.ok(result.throughput > 60 && result.throughput < 140, `throughput ${result.throughput}`);
  assert.equal(result.windowOrders.length, result.issued.window);
  assert.equal(result.keptUp, true);
});

Deno.test("closed loop: keeps the planned number in flight", async () => {
  let maxInFlight = 0;
  let inFlight = 0;
  const load: LoadGenerator = createLoadGenerator(
    {
      mode: "closed",
      rate: 1,
      concurrency: 4,
      warmupMs: 50,
      durationMs: 300,
      drainTimeoutMs: 1_000,
    },
    {
      produce(orderIds) {
        inFlight += orderIds.length;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for (const id of orderIds) {
          setTimeout(() => {
            inFlight--;
            load.observe(id, "COMPLETED");
          }, 10);
        }
        return Promise.resolve();
      },
    },
  );
  const result = await load.run();
  assert.equal(maxInFlight, 4);
  assert.ok(result.completions.window > 40, `completions ${result.completions.window}`);
  assert.equal(result.unfinished.total, 0);
  assert.equal(result.concurrency, 4);
});

Deno.test("orders that never finish are reported unfinished, not waited for forever", async () => {
  const load = createLoadGenerator(
    { mode: "open", rate: 50, concurrency: 1, warmupMs: 0, durationMs: 200, drainTimeoutMs: 100 },
    { produce: () => Promise.resolve() },
  );
  const result = await load.run();
  assert.ok(result.unfinished.window > 0);
  assert.equal(result.latency, null);
  assert.equal(result.keptUp, false);
});

Deno.test("completions are counted per second of the window", async () => {
  const load: LoadGenerator = createLoadGenerator(
    {
      mode: "open",
      rate: 100,
      concurrency: 1,
      warmupMs: 0,
      durationMs: 1_500,
      drainTimeoutMs: 1_000,
    },
    { produce: finishing(5, () => load) },
  );
  const result = await load.run();
  assert.equal(result.perSecond.length, 2);
  assert.equal(result.perSecond[0]! + result.perSecond[1]!, result.completions.window);
  assert.ok(result.perSecond[0]! > 70, `first second ${result.perSecond[0]}`);
});

Deno.test("giveUpBehind: a run that fell behind offers nothing after its window", async () => {
  const load: LoadGenerator = createLoadGenerator(
    {
      mode: "open",
      rate: 50,
      concurrency: 1,
      warmupMs: 0,
      durationMs: 200,
      drainTimeoutMs: 5_000,
      giveUpBehind: true,
    },
    { produce: finishing(600, () => load) },
  );
  const result = await load.run();
  assert.equal(result.issued.total, result.issued.window, "orders offered after the window");
  assert.equal(result.unfinished.total, 0, "what was in flight is waited for");
  assert.equal(result.keptUp, false);
});

Deno.test("coalescing: one send at a time, what came meanwhile in the next one", async () => {
  const sends: string[][] = [];
  const releases: Array<() => void> = [];
  const send = coalescing((ids) => {
    sends.push([...ids]);
    return new Promise<void>((resolve) => releases.push(resolve));
  });
  const first = send(["a"]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const second = send(["b"]);
  const third = send(["c", "d"]);
  assert.equal(second, third, "b, c and d wait for one send");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(sends, [["a"]], "nothing more in flight while a is");
  releases[0]!();
  await first;
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(sends, [["a"], ["b", "c", "d"]]);
  releases[1]!();
  await second;
  const failing = coalescing(() => Promise.reject(new Error("down")));
  await assert.rejects(failing(["x"]), /down/);
  await assert.rejects(failing(["y"]), /down/, "a failed send does not stop the next");
});
