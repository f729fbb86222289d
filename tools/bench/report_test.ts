import assert from "node:assert/strict";
import { type BenchSummary, formatReport, judgeTargets, ratioOf } from "./report.ts";
import type { PipelineResult } from "./run.ts";

function pipeline(
  kind: "saga" | "bare",
  load: { throughput: number; p50: number; p99: number; keptUp: boolean },
  rssMiB = 150,
): PipelineResult {
  const latency = {
    count: 10,
    mean: load.p50,
    p50: load.p50,
    p95: load.p99,
    p99: load.p99,
    max: 1,
  };
  return {
    pipeline: kind,
    namespace: `bench-${kind}-x`,
    database: `bench_${kind}_x`,
    loadAverage: { start: [1, 1, 1], end: [1, 1, 1] },
    load: {
      mode: "closed",
      plannedRate: null,
      concurrency: 32,
      windowMs: 30_000,
      windowStartedAtMs: 0,
      windowEndedAtMs: 30_000,
      issued: { total: 10, window: 10 },
      offeredRate: load.throughput,
      completions: { total: 10, window: 10 },
      throughput: load.throughput,
      latency,
      outcomes: { COMPLETED: 9, COMPENSATED: 1 },
      unfinished: { window: 0, total: 0 },
      generatorLag: null,
      produceAck: null,
      produceErrors: 0,
      firstProduceError: null,
      inFlight: { atWindowStart: 32, atWindowEnd: 32, max: 32 },
      keptUp: load.keptUp,
      generatorBehind: false,
    },
    processes: [{
      name: kind === "saga" ? "orchestrator" : "bare-orchestrator",
      kind: "service",
      cpuSeconds: 3,
      cores: 0.1,
      msPerSaga: 10,
      peakRssMiB: rssMiB,
    }],
    machine: { cores: 2, busyCores: 1 },
    cpuPerSaga: { ms: 30, ceilingPerSecond: 66.7 },
    sagas: 10,
    perSagaExact: true,
    kafka: { records: 70, recordsPerSaga: 7, perTopicPerSaga: { orders: 1 } },
    postgres: {
      commits: 420,
      commitsPerSaga: 42,
      commitsPerRecord: 6,
      rollbacks: 0,
      writesPerSaga: {},
    },
    backlog: { handledPerSecond: {}, consumerLagMax: {}, outboxMax: {} },
    breakdown: [],
    profiles: [],
    logDir: null,
  };
}

Deno.test("judgeTargets: closed loop judges throughput, the ratio and RSS, not latency", () => {
  const saga = pipeline("saga", { throughput: 30, p50: 900, p99: 1_500, keptUp: true }, 210);
  const bare = pipeline("bare", { throughput: 60, p50: 500, p99: 800, keptUp: true });
  const targets = judgeTargets({ mode: "closed", rate: 100 }, saga, bare);
  assert.deepEqual(targets.map((t) => t.met), [false, null, null, false, false]);
  assert.equal(targets[3]!.value, 0.5);
  assert.equal(targets[4]!.value, 210);
});

Deno.test("judgeTargets: the latency targets need an open loop at 500/s", () => {
  const saga = pipeline("saga", { throughput: 500, p50: 40, p99: 200, keptUp: true });
  const targets = judgeTargets({ mode: "open", rate: 500 }, saga, undefined);
  assert.equal(targets[1]!.met, true);
  assert.equal(targets[2]!.met, true);
  assert.equal(targets[3]!.met, null, "no bare pipeline, no ratio");
});

Deno.test("ratioOf and formatReport: saga over bare, and every section printed", () => {
  const saga = pipeline("saga", { throughput: 30, p50: 900, p99: 1_500, keptUp: true });
  const bare = pipeline("bare", { throughput: 60, p50: 450, p99: 750, keptUp: true });
  const ratio = ratioOf(saga, bare);
  assert.deepEqual(ratio, { throughput: 0.5, p50: 2, p99: 2 });
  const summary: BenchSummary = {
    benchmark: "sagas",
    startedAt: "2026-01-01T00:00:00.000Z",
    code: { commit: "abc1234", changedFiles: 0 },
    machine: {
      cores: 2,
      memoryMiB: 1024,
      kernel: "6",
      deno: "2",
      v8: "15",
      typescript: "6",
      kafka: "4.1.2",
      postgres: "15",
      redis: "7",
      loadAverageAtStart: [1, 1, 1],
    },
    options: {
      mode: "closed",
      rate: 100,
      concurrency: 32,
      warmupMs: 10_000,
      durationMs: 30_000,
      pipeline: "both",
      partitions: 6,
      replicas: 2,
      logLevel: "info",
      stripeLatencyMs: 0,
      drainTimeoutMs: 30_000,
    },
    pipelines: { saga, bare },
    ratio,
    targets: judgeTargets({ mode: "closed", rate: 100 }, saga, bare),
  };
  const text = formatReport(summary);
  for (
    const section of [
      "PIPELINE",
      "saga/bare",
      "CPU over",
      "Targets of issue 6",
      "1 COMPENSATED",
      "2 replica(s) of every service",
    ]
  ) {
    assert.ok(text.includes(section), `missing "${section}"`);
  }
});
