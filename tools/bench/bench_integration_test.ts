/**
 * Smoke tests of `deno task bench`: a few seconds at 5 orders/s through both pipelines, and the
 * capacity mode at a small scale (2-s steps up to 10/s), against real Kafka, PostgreSQL and
 * Redis. Checks that completions were observed and that the JSON summary (the last line of
 * standard output) has the expected fields and consistent numbers. No performance assertion: the
 * targets are printed by the bench, never asserted.
 */
import assert from "node:assert/strict";

const BENCH = new URL("../../scripts/bench.ts", import.meta.url);

/** Runs the bench with `args`; returns its output and the JSON summary of its last line. */
async function bench(args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH.pathname, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `the bench failed:\n${err}\n${out}`);
  return { out, summary: JSON.parse(out.trimEnd().split("\n").at(-1) ?? "") };
}

Deno.test("the bench runs both pipelines at a low rate and prints a JSON summary", async () => {
  const { out, summary } = await bench([
    "--mode",
    "open",
    "--rate",
    "5",
    "--warmup",
    "1s",
    "--duration",
    "4s",
    "--drain-timeout",
    "15s",
    "--pipeline",
    "both",
    "--stripe-latency",
    "20ms",
  ]);
  assert.equal(summary.benchmark, "sagas");
  assert.equal(summary.options.mode, "open");
  assert.equal(summary.options.rate, 5);
  assert.equal(summary.options.stripeLatencyMs, 20);
  assert.equal(summary.options.replicas, 1);
  assert.equal(typeof summary.machine.cores, "number");
  assert.equal(summary.machine.loadAverageAtStart.length, 3);
  for (const kind of ["saga", "bare"]) {
    const pipeline = summary.pipelines[kind];
    assert.ok(pipeline, `no ${kind} pipeline in the summary`);
    assert.ok(pipeline.load.completions.window > 0, `${kind}: no completion in the window`);
    assert.equal(pipeline.load.outcomes.COMPLETED, pipeline.load.issued.window);
    for (const field of ["p50", "p95", "p99", "max"]) {
      assert.equal(typeof pipeline.load.latency[field], "number", `${kind}: latency.${field}`);
    }
    assert.equal(typeof pipeline.load.throughput, "number");
    assert.equal(pipeline.kafka.recordsPerSaga, 7, `${kind}: seven records per saga`);
    assert.ok(pipeline.postgres.commitsPerSaga >= 7, `${kind}: at least one commit per hop`);
    assert.ok(pipeline.processes.length >= 4, `${kind}: per-process usage`);
    assert.ok(pipeline.breakdown.length > 0, `${kind}: a latency breakdown`);
  }
  const orchestrator = summary.pipelines.saga.processes.find(
    (p: { name: string }) => p.name === "orchestrator",
  );
  assert.equal(typeof orchestrator?.peakRssMiB, "number");
  assert.equal(typeof orchestrator?.cpuSeconds, "number");
  assert.equal(typeof summary.ratio.throughput, "number");
  assert.equal(summary.targets.length, 5);
  for (const target of summary.targets) {
    assert.ok(target.met === null || typeof target.met === "boolean");
  }
  assert.match(out, /Targets of issue 6/);
});

Deno.test("the capacity mode steps both pipelines up, writes its JSON and chart", async () => {
  const out = await Deno.makeTempDir({ prefix: "sagas-bench-capacity-test-" });
  try {
    const { out: text, summary } = await bench([
      "--capacity",
      "--rate",
      "5",
      "--max-rate",
      "10",
      "--warmup",
      "1s",
      "--duration",
      "2s",
      "--drain-timeout",
      "10s",
      "--stripe-latency",
      "20ms",
      "--out",
      out,
    ]);
    assert.equal(summary.benchmark, "capacity");
    assert.equal(summary.options.capacity, true);
    assert.equal(summary.options.stripeLatencyMs, 20);
    const { saga, bare, ratio } = summary.capacity;
    assert.ok(saga > 0 && bare > 0, `capacity saga ${saga}, bare ${bare}`);
    assert.ok(saga <= 10 && bare <= 10, "never above --max-rate");
    assert.equal(ratio, Math.round((saga / bare) * 1_000) / 1_000);
    assert.deepEqual(Object.keys(summary.latency), ["10", "50%", "90%"]);
    for (const [label, point] of Object.entries(summary.latency)) {
      const { p50, p99 } = point as { p50: number; p99: number };
      assert.ok(p50 > 0 && p99 >= p50, `latency at ${label}: p50 ${p50}, p99 ${p99}`);
    }
    for (const kind of ["saga", "bare"]) {
      const pipeline = summary.pipelines[kind];
      const kept = pipeline.steps.filter((s: { keptUp: boolean }) => s.keptUp);
      assert.equal(
        pipeline.capacity,
        Math.max(...kept.map((s: { rate: number }) => s.rate)),
        `${kind}: the capacity is the highest rate kept up`,
      );
      assert.equal(pipeline.steps[0].rate, 5, `${kind}: the search starts at --rate`);
      assert.ok(pipeline.cpuMsPerSagaAtCapacity > 0, `${kind}: CPU per saga at capacity`);
      assert.equal(summary.cpuPerSaga[kind], pipeline.cpuMsPerSagaAtCapacity);
    }
    assert.deepEqual(JSON.parse(await Deno.readTextFile(summary.files.json)), summary);
    const svg = await Deno.readTextFile(summary.files.svg);
    assert.match(svg, /^<svg /);
    assert.equal(svg.match(/<polyline /g)?.length, 4, "p50 and p99 of both pipelines");
    assert.match(text, /Capacity \(highest rate kept up\): saga/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
