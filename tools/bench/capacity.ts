/**
 * Capacity mode (`deno task bench --capacity`): for each pipeline, steps the offered rate up in
 * open loop until the pipeline no longer keeps up, reports the highest rate it sustained, and
 * measures latency at 10/s and at 50 % and 90 % of the saga's capacity.
 *
 * A step **keeps up** (`LoadResult.keptUp`) when, offered `rate` orders/s over a warm-up and a
 * measured window:
 * - the orders finished within the window are at least 95 % of those offered in it, i.e. the
 *   orders in flight grew by at most 5 % of the window's offered orders (the backlog is not
 *   growing);
 * - every order offered in the window finished, within the drain timeout after the window;
 * - the generator kept its schedule (offered ≥ 95 % of the rate, send lag p99 ≤ 50 ms) and no
 *   send failed.
 *
 * The warm-up (10 s unless given) must outlast the time the pipeline takes to fill: with Stripe
 * at 300 ms a saga's p99 is seconds, and a 3 s warm-up left the fill inside the window, which
 * then read as falling behind (38/s where 10 s found 160/s).
 *
 * The search is bounded: from the first rate, double while the step keeps up, up to the highest
 * rate (then the capacity is "at least" that, `capped`); if the first rate does not keep up,
 * halve it, three times at most. Then bisect between the highest rate that kept up and the lowest
 * that did not until they are within 10 % of each other, three bisections at most. So at most
 * ⌈log2(max ÷ first)⌉ + 1 + 3 search steps, each a warm-up and a window; a step that falls behind
 * offers nothing after its window and waits (up to the drain timeout) for what is in flight, so
 * that the next step starts on an empty pipeline. One that still left orders unfinished is
 * followed by fresh processes (on a fresh database and namespace). Fresh processes are primed
 * first: 5 s at 10/s (or the first rate, if lower), unmeasured, since a cold process's first
 * orders (JIT, connections, metadata) are slow.
 */
import { closeDb, connectDb } from "../../lib/db/mod.ts";
import type { BenchOptions, PipelineKind } from "./options.ts";
import {
  clusterPids,
  driveLoad,
  type LoadMeasurement,
  planOf,
  type RunPipelineOptions,
  sharedProcesses,
  startPipeline,
  stopPipeline,
} from "./run.ts";
import type { LoadPlan } from "./load.ts";
import type { PipelineStack } from "./stack.ts";
import { round } from "./stats.ts";

/** Why a step ran: the capacity search, or a latency point. */
export type StepPurpose = "search" | "latency";

/** One step of the capacity mode: a rate offered over a warm-up and a window. */
export interface CapacityStep {
  purpose: StepPurpose;
  /** The planned offered rate (orders/s). */
  rate: number;
  keptUp: boolean;
  /** Orders offered and finished per second in the window. */
  offered: number;
  throughput: number;
  /** Send → final status of the window's finished orders (ms); null when none finished. */
  p50: number | null;
  p99: number | null;
  /** Orders of the window unfinished when the step ended. */
  unfinished: number;
  /** CPU per saga of work in the window (ms), everything the pipeline needs (see `run.ts`). */
  cpuMsPerSaga: number | null;
  /** The machine's busy cores over the window. */
  busyCores: number;
  /** The largest peak RSS (VmHWM) of the pipeline's services at the step's end (MiB). */
  peakRssMiB: number | null;
  /** The most records waiting in front of any consumer group in the window. */
  consumerLagMax: number;
}

/** What the capacity mode found for one pipeline. */
export interface PipelineCapacity {
  /** The highest rate that kept up (orders/s); 0 when none did. */
  capacity: number;
  /** The highest rate offered kept up: the capacity is at least `capacity`. */
  capped: boolean;
  /** CPU per saga (ms) in the step at capacity. */
  cpuMsPerSagaAtCapacity: number | null;
  /** The largest peak RSS of a service in the step at capacity (MiB). */
  peakRssMiBAtCapacity: number | null;
  /** Latency points, by label ("10", "50%", "90%"). */
  latency: Record<string, LatencyPoint>;
  steps: CapacityStep[];
}

/** p50/p99 at one offered rate. */
export interface LatencyPoint {
  rate: number;
  p50: number | null;
  p99: number | null;
  keptUp: boolean;
}

/** The search's bounds: the first rate, the highest, and how close the bisection gets. */
export interface SearchPlan {
  startRate: number;
  maxRate: number;
}

/** The unmeasured load fresh processes get before their first step. */
const PRIME = { rate: 10, durationMs: 5_000 };

/** Bisection stops once (lowest failing − highest kept) ≤ this share of the highest kept. */
const PRECISION = 0.1;
/** Halvings of a first rate that does not keep up, and bisections, at most. */
const MAX_HALVINGS = 3;
const MAX_BISECTIONS = 3;

/**
 * The highest rate for which `keepsUp` holds, searched as the module says (doubling, then
 * bisection); `capped` when even `maxRate` kept up. Rates are whole orders per second.
 */
export async function searchCapacity(
  plan: SearchPlan,
  keepsUp: (rate: number) => Promise<boolean>,
): Promise<{ capacity: number; capped: boolean }> {
  let good: number | null = null;
  let bad: number | null = null;
  let rate = Math.min(Math.round(plan.startRate), plan.maxRate);
  if (await keepsUp(rate)) {
    good = rate;
    while (good < plan.maxRate) {
      rate = Math.min(good * 2, plan.maxRate);
      if (!await keepsUp(rate)) {
        bad = rate;
        break;
      }
      good = rate;
    }
  } else {
    bad = rate;
    for (let i = 0; i < MAX_HALVINGS && good === null; i++) {
      rate = Math.floor(bad / 2);
      if (rate < 1) break;
      if (await keepsUp(rate)) good = rate;
      else bad = rate;
    }
  }
  if (good === null) return { capacity: 0, capped: false };
  if (bad === null) return { capacity: good, capped: true };
  for (let i = 0; i < MAX_BISECTIONS && bad - good > PRECISION * good; i++) {
    const mid = Math.round((good + bad) / 2);
    if (mid === good || mid === bad) break;
    if (await keepsUp(mid)) good = mid;
    else bad = mid;
  }
  return { capacity: good, capped: false };
}

/** The latency points' rates for a saga capacity: 10/s, 50 % and 90 % of it (at least 1/s). */
export function latencyRates(sagaCapacity: number): Record<string, number> {
  return {
    "10": 10,
    "50%": Math.max(1, Math.round(sagaCapacity * 0.5)),
    "90%": Math.max(1, Math.round(sagaCapacity * 0.9)),
  };
}

/** A step's record from what it measured. */
export function stepOf(
  purpose: StepPurpose,
  rate: number,
  measured: Pick<LoadMeasurement, "load" | "usage" | "backlog">,
): CapacityStep {
  const { load, usage, backlog } = measured;
  const rss = usage.processes
    .filter((p) => p.kind === "service" && p.name !== "stripe" && p.peakRssMiB !== null)
    .map((p) => p.peakRssMiB!);
  return {
    purpose,
    rate,
    keptUp: load.keptUp,
    offered: load.offeredRate,
    throughput: load.throughput,
    p50: load.latency?.p50 ?? null,
    p99: load.latency?.p99 ?? null,
    unfinished: load.unfinished.window,
    cpuMsPerSaga: usage.cpuPerSaga.ms,
    busyCores: usage.machine.busyCores,
    peakRssMiB: rss.length === 0 ? null : Math.max(...rss),
    consumerLagMax: Math.max(0, ...Object.values(backlog.consumerLagMax)),
  };
}

/**
 * Runs the capacity search on one pipeline, then its latency points at `ratesFor(capacity)` (a
 * step that kept up at the same rate is reused). Processes are started once and again only
 * after a step that left orders unfinished.
 */
export async function runCapacity(
  kind: PipelineKind,
  bench: BenchOptions,
  options: RunPipelineOptions & { ratesFor(capacity: number): Record<string, number> },
): Promise<PipelineCapacity> {
  const { say } = options;
  const steps: CapacityStep[] = [];
  let stack: PipelineStack | null = null;
  let failed = false;
  const step = async (rate: number, purpose: StepPurpose): Promise<CapacityStep> => {
    const drive = async (running: PipelineStack, plan: LoadPlan) => {
      const { cluster } = options.infra;
      const shared = await sharedProcesses(
        cluster === undefined ? undefined : await clusterPids(cluster),
      );
      const scratch = connectDb(running.databaseUrl, { max: 1, applicationName: "bench-probe" });
      try {
        return await driveLoad(running, { ...plan, giveUpBehind: true }, {
          ...options,
          scratch,
          shared,
        });
      } finally {
        await closeDb(scratch);
      }
    };
    if (stack === null) {
      stack = await startPipeline(kind, bench, options);
      say(`${kind}: priming the fresh processes (unmeasured)`);
      await drive(stack, {
        ...planOf(bench, Math.min(PRIME.rate, bench.rate)),
        warmupMs: 0,
        durationMs: PRIME.durationMs,
      });
    }
    const measured = await drive(stack, planOf(bench, rate));
    const result = stepOf(purpose, rate, measured);
    steps.push(result);
    say(
      `${kind}: ${rate}/s ${
        result.keptUp ? "kept up" : "did not keep up"
      } (done ${result.throughput}/s, p50 ${result.p50} ms, p99 ${result.p99} ms)`,
    );
    if (measured.load.unfinished.total > 0) {
      const done: PipelineStack = stack;
      stack = null;
      await stopPipeline(done, { keepLogs: bench.keepLogs, say });
    }
    return result;
  };
  try {
    const { capacity, capped } = await searchCapacity(
      { startRate: bench.rate, maxRate: bench.maxRate },
      async (rate) => (await step(rate, "search")).keptUp,
    );
    const latency: Record<string, LatencyPoint> = {};
    for (const [label, rate] of Object.entries(options.ratesFor(capacity))) {
      const known = steps.find((s) => s.rate === rate && s.keptUp) ??
        await step(rate, "latency");
      latency[label] = { rate, p50: known.p50, p99: known.p99, keptUp: known.keptUp };
    }
    const atCapacity = steps.find((s) => s.rate === capacity && s.keptUp);
    return {
      capacity,
      capped,
      cpuMsPerSagaAtCapacity: atCapacity?.cpuMsPerSaga ?? null,
      peakRssMiBAtCapacity: atCapacity?.peakRssMiB ?? null,
      latency,
      steps,
    };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    const left = stack as PipelineStack | null;
    if (left !== null) await stopPipeline(left, { keepLogs: failed || bench.keepLogs, say });
  }
}

/** Saga ÷ bare capacity, when both ran and the bare one is above 0. */
export function capacityRatio(saga?: number, bare?: number): number | null {
  return saga === undefined || bare === undefined || bare === 0 ? null : round(saga / bare, 3);
}
