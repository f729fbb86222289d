import assert from "node:assert/strict";
import type { PipelineCapacity } from "./capacity.ts";
import {
  type BenchSummary,
  capacityChart,
  type CapacitySummary,
  formatCapacityReport,
  formatReport,
  judgeTargets,
  lowestMean,
  ratioOf,
} from "./report.ts";
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
      perSecond: [load.throughput],
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
    faults: [],
    logDir: null,
  };
}

const MACHINE = {
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
};

const OPTIONS: BenchSummary["options"] = {
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
  capacity: false,
  maxRate: 4_000,
  outDir: ".data/bench",
  brokers: 1,
  killBrokerAtMs: null,
  killReplicaAtMs: null,
};

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
    machine: MACHINE,
    options: OPTIONS,
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

Deno.test("formatReport: a fault and the window's throughput second by second", () => {
  const saga = pipeline("saga", { throughput: 30, p50: 900, p99: 1_500, keptUp: true });
  saga.faults = [{ kind: "broker killed", atMs: 5_000, target: "node 2", restartedAtMs: 16_000 }];
  saga.load.perSecond = [30, 30, 12, 8, 30, 31, 30];
  const text = formatReport({
    benchmark: "sagas",
    startedAt: "2026-01-01T00:00:00.000Z",
    code: { commit: "abc1234", changedFiles: 0 },
    machine: MACHINE,
    options: OPTIONS,
    pipelines: { saga },
    ratio: null,
    targets: [],
  });
  assert.match(
    text,
    /broker killed \(node 2\) at 5000 ms into the window, answering again at 16000/,
  );
  assert.match(text, /30 30 12 8 30 31 30; lowest 5 s 22.0\/s/);
});

Deno.test("lowestMean: the lowest run of consecutive values", () => {
  assert.equal(lowestMean([5, 1, 1, 5, 5], 2), 1);
  assert.equal(lowestMean([4, 2], 5), 3);
  assert.equal(lowestMean([], 5), null);
});

Deno.test("capacityChart and formatCapacityReport: the steps that kept up, and the summary", () => {
  const step = (rate: number, keptUp: boolean, p50: number) => ({
    purpose: "search" as const,
    rate,
    keptUp,
    offered: rate,
    throughput: keptUp ? rate : rate / 2,
    p50,
    p99: p50 * 2,
    unfinished: keptUp ? 0 : 100,
    cpuMsPerSaga: 20,
    busyCores: 1.5,
    peakRssMiB: 150,
    consumerLagMax: 3,
  });
  const of = (capacity: number, steps: PipelineCapacity["steps"]): PipelineCapacity => ({
    capacity,
    capped: false,
    cpuMsPerSagaAtCapacity: 20,
    peakRssMiBAtCapacity: 150,
    latency: { "10": { rate: 10, p50: 40, p99: 80, keptUp: true } },
    steps,
  });
  const summary: CapacitySummary = {
    benchmark: "capacity",
    startedAt: "2026-01-01T00:00:00.000Z",
    code: { commit: "abc1234", changedFiles: 0 },
    machine: MACHINE,
    options: { ...OPTIONS, capacity: true, mode: "open" },
    capacity: { saga: 20, bare: 40, ratio: 0.5 },
    latency: { "10": { p50: 40, p99: 80 } },
    cpuPerSaga: { saga: 20, bare: 5 },
    pipelines: {
      saga: of(20, [step(10, true, 40), step(20, true, 60), step(40, false, 900)]),
      bare: of(40, [step(10, true, 10), step(20, true, 12), step(40, true, 15)]),
    },
    files: { json: "/tmp/c.json", svg: "/tmp/c.svg" },
  };
  const svg = capacityChart(summary);
  const sagaP50 = /data-series="saga \(capacity 20\/s\) p50"[^>]* points="([^"]*)"/.exec(svg);
  assert.equal(sagaP50?.[1]?.split(" ").length, 2, "the step that fell behind is not drawn");
  const text = formatCapacityReport(summary);
  assert.match(text, /saga 20\/s, bare 40\/s, saga ÷ bare 0.500/);
  assert.match(text, /at 10\/s p50 40.0 ms, p99 80.0 ms/);
  assert.equal(text.split("\n").filter((line) => /^(saga|bare) +search/.test(line)).length, 6);
});
