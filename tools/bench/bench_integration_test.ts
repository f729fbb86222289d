/**
 * Smoke test of `deno task bench`: a few seconds at 5 orders/s through both pipelines, against
 * real Kafka, PostgreSQL and Redis. Checks that completions were observed and that the JSON
 * summary (the last line of standard output) has the expected fields. No performance assertion:
 * the targets are printed by the bench, never asserted.
 */
import assert from "node:assert/strict";

const BENCH = new URL("../../scripts/bench.ts", import.meta.url);

Deno.test("the bench runs both pipelines at a low rate and prints a JSON summary", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      BENCH.pathname,
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
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const out = new TextDecoder().decode(stdout);
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, `the bench failed:\n${err}\n${out}`);
  const lastLine = out.trimEnd().split("\n").at(-1) ?? "";
  const summary = JSON.parse(lastLine);
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
