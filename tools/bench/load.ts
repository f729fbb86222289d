/**
 * The load generator: issues orders at a fixed offered rate (open loop: scheduled by the clock,
 * never waiting on completions) or keeps a fixed number in flight (closed loop: a completion
 * issues the next order), and measures what completes over a warm-up, a measured window and a
 * drain. It knows nothing of Kafka or sagas: `produce` sends, `observe` reports a final status.
 */
import { sleep } from "../../lib/async/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { LoadMode } from "./options.ts";
import { type Distribution, round, summarize } from "./stats.ts";

/** How to drive the load. */
export interface LoadPlan {
  mode: LoadMode;
  /** Offered orders per second (open loop). */
  rate: number;
  /** Orders in flight (closed loop). */
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** After the window: how long to wait for its orders (and then for the rest). */
  drainTimeoutMs: number;
  /**
   * Stop offering as the window ends when fewer orders finished in it than 95 % of those offered
   * in it (it cannot keep up): no load after the window, only the wait for what is in flight.
   */
  giveUpBehind?: boolean;
}

/** What the generator calls out to. */
export interface LoadHooks {
  /** Sends the orders, in order, as one batch; resolves once the broker acknowledged them. */
  produce(orderIds: readonly string[]): Promise<void>;
  /** Called once the measured window starts (e.g. to sample CPU). */
  onWindowStart?(): void;
  /** Called once the measured window ends. */
  onWindowEnd?(): void;
  /** A monotonic clock in milliseconds (default `performance.now`). */
  now?: () => number;
  /** Stops the run early: `run()` stops offering and rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** When an order of the measured window was sent and seen finished (wall clock, ms). */
export interface OrderTiming {
  orderId: string;
  sentAtMs: number;
  observedAtMs: number | null;
}

/** What one load run measured. */
export interface LoadResult {
  mode: LoadMode;
  /** Planned offered rate (open loop) or null. */
  plannedRate: number | null;
  /** Planned orders in flight (closed loop) or null. */
  concurrency: number | null;
  windowMs: number;
  windowStartedAtMs: number;
  windowEndedAtMs: number;
  issued: { total: number; window: number };
  /** Orders issued per second within the window. */
  offeredRate: number;
  /** Final statuses observed: over the whole run, and within the window. */
  completions: { total: number; window: number };
  /** Final statuses observed per second within the window. */
  throughput: number;
  /** Final statuses observed in each second of the window, in order. */
  perSecond: number[];
  /** Sent → final status observed, for the orders sent within the window (ms). */
  latency: Distribution | null;
  /** Final status of the window's orders, by status. */
  outcomes: Record<string, number>;
  /** Orders with no final status when the run ended. */
  unfinished: { window: number; total: number };
  /** Open loop: how late each order of the window was sent against its schedule (ms). */
  generatorLag: Distribution | null;
  /** Produce call → broker acknowledgement, for the window's orders (ms). */
  produceAck: Distribution | null;
  produceErrors: number;
  firstProduceError: string | null;
  /** Orders in flight when the window started and ended, and the most at any point in it. */
  inFlight: { atWindowStart: number; atWindowEnd: number; max: number };
  /**
   * The system kept up: every order of the window finished, as many finished in the window as
   * were offered in it (≥ 95 %), and (open loop) the generator kept its schedule.
   */
  keptUp: boolean;
  /** Open loop: the generator itself fell behind its schedule (offered < 95 % or lag p99 > 50 ms). */
  generatorBehind: boolean;
  /** Per-order timings of the window, for breaking latency down afterwards. */
  windowOrders: OrderTiming[];
}

/** A load run in progress. */
export interface LoadGenerator {
  /** Reports that an order reached final status `status` (unknown orders are ignored). */
  observe(orderId: string, status: string): void;
  /** Runs warm-up, window and drain; resolves with what was measured. */
  run(): Promise<LoadResult>;
}

type Phase = "warmup" | "window" | "drain";

interface Tracked {
  phase: Phase;
  sentAt: number;
  timing: OrderTiming | null;
}

/**
 * `send` one call at a time, every order due while a call is in flight taken into the next one:
 * through a producer that sends one request at a time, the generator's schedule then never
 * queues behind the broker's round trip (one request per tick would, once a round trip is longer
 * than a tick, as on a 3-broker cluster). Each call resolves once its orders were sent.
 */
export function coalescing(
  send: (orderIds: readonly string[]) => Promise<void>,
): (orderIds: readonly string[]) => Promise<void> {
  let waiting: { orderIds: string[]; sent: Promise<void> } | null = null;
  let last: Promise<void> = Promise.resolve();
  return (orderIds) => {
    if (waiting !== null) {
      waiting.orderIds.push(...orderIds);
      return waiting.sent;
    }
    const batch = { orderIds: [...orderIds], sent: Promise.resolve() };
    waiting = batch;
    batch.sent = last.catch(() => {}).then(() => {
      waiting = null;
      return send(batch.orderIds);
    });
    last = batch.sent;
    return batch.sent;
  };
}

/** A generator for `plan`; nothing is sent before `run()`. */
export function createLoadGenerator(plan: LoadPlan, hooks: LoadHooks): LoadGenerator {
  const now = hooks.now ?? (() => performance.now());
  const wall = (t: number) => performance.timeOrigin + t;
  const tracked = new Map<string, Tracked>();
  const latencies: number[] = [];
  const lags: number[] = [];
  const acks: number[] = [];
  const outcomes: Record<string, number> = {};
  const windowOrders: OrderTiming[] = [];
  const producing = new Set<Promise<void>>();
  const issued = { total: 0, window: 0 };
  const completions = { total: 0, window: 0 };
  const perSecond: number[] = Array.from({ length: Math.ceil(plan.durationMs / 1_000) }, () => 0);
  const inFlight = { atWindowStart: 0, atWindowEnd: 0, max: 0 };
  let windowPending = 0;
  let produceErrors = 0;
  let firstProduceError: string | null = null;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let generating = false;
  let replacements: string[] = [];

  const phaseAt = (t: number): Phase =>
    t < windowStart ? "warmup" : t < windowEnd ? "window" : "drain";

  function issue(orderIds: readonly string[], dueAt: readonly number[] | null): void {
    const t = now();
    const phase = phaseAt(t);
    orderIds.forEach((orderId, i) => {
      const timing = phase === "window" ? { orderId, sentAtMs: wall(t), observedAtMs: null } : null;
      tracked.set(orderId, { phase, sentAt: t, timing });
      issued.total++;
      if (timing !== null) {
        issued.window++;
        windowPending++;
        windowOrders.push(timing);
        const due = dueAt?.[i];
        if (due !== undefined) lags.push(t - due);
      }
    });
    if (phase === "window") inFlight.max = Math.max(inFlight.max, tracked.size);
    const sent = hooks.produce(orderIds).then(
      () => {
        if (phase === "window") acks.push(now() - t);
      },
      (error) => {
        produceErrors += orderIds.length;
        firstProduceError ??= errorMessage(error);
        for (const orderId of orderIds) {
          const order = tracked.get(orderId);
          if (order === undefined) continue;
          tracked.delete(orderId);
          if (order.timing !== null) {
            windowPending--;
            outcomes.NOT_PRODUCED = (outcomes.NOT_PRODUCED ?? 0) + 1;
          }
        }
      },
    );
    producing.add(sent);
    sent.finally(() => producing.delete(sent));
  }

  function observe(orderId: string, status: string): void {
    const order = tracked.get(orderId);
    if (order === undefined) return;
    const t = now();
    tracked.delete(orderId);
    completions.total++;
    if (t >= windowStart && t < windowEnd) {
      completions.window++;
      perSecond[Math.floor((t - windowStart) / 1_000)]!++;
    }
    if (order.timing !== null) {
      order.timing.observedAtMs = wall(t);
      latencies.push(t - order.sentAt);
      outcomes[status] = (outcomes[status] ?? 0) + 1;
      windowPending--;
    }
    if (plan.mode === "closed" && generating) {
      replacements.push(crypto.randomUUID());
      if (replacements.length === 1) {
        queueMicrotask(() => {
          const batch = replacements;
          replacements = [];
          if (generating && batch.length > 0) issue(batch, null);
        });
      }
    }
  }

  async function run(): Promise<LoadResult> {
    const start = now();
    windowStart = start + plan.warmupMs;
    windowEnd = windowStart + plan.durationMs;
    const stopBy = windowEnd + plan.drainTimeoutMs;
    let windowStarted = false;
    let windowEnded = false;
    const interval = 1_000 / plan.rate;
    let next = 0;
    let gaveUp = false;
    generating = true;
    if (plan.mode === "closed") {
      issue(Array.from({ length: plan.concurrency }, () => crypto.randomUUID()), null);
    }
    while (generating) {
      if (hooks.signal?.aborted) {
        generating = false;
        await Promise.allSettled([...producing]);
        throw hooks.signal.reason;
      }
      const t = now();
      if (!windowStarted && t >= windowStart) {
        windowStarted = true;
        inFlight.atWindowStart = tracked.size;
        inFlight.max = Math.max(inFlight.max, tracked.size);
        hooks.onWindowStart?.();
      }
      if (!windowEnded && t >= windowEnd) {
        windowEnded = true;
        inFlight.atWindowEnd = tracked.size;
        hooks.onWindowEnd?.();
        if (plan.giveUpBehind && completions.window < 0.95 * issued.window) gaveUp = true;
      }
      if (windowEnded && (windowPending === 0 || t >= stopBy || gaveUp)) {
        generating = false;
        break;
      }
      let wait = 10;
      if (plan.mode === "open") {
        const ids: string[] = [];
        const dues: number[] = [];
        for (let due = start + next * interval; due <= t; due = start + next * interval) {
          ids.push(crypto.randomUUID());
          dues.push(due);
          next++;
        }
        if (ids.length > 0) issue(ids, dues);
        wait = Math.min(wait, start + next * interval - now());
      }
      await sleep(Math.max(0, wait));
    }
    // Stop offering; let what is in flight finish (bounded), and every send be acknowledged.
    const finishBy = now() + plan.drainTimeoutMs;
    while (tracked.size > 0 && now() < finishBy) await sleep(20);
    await Promise.allSettled([...producing]);
    const windowSeconds = plan.durationMs / 1_000;
    const lag = summarize(lags);
    const offeredRate = round(issued.window / windowSeconds);
    const generatorBehind = plan.mode === "open" &&
      (offeredRate < 0.95 * plan.rate || (lag !== null && lag.p99 > 50));
    return {
      mode: plan.mode,
      plannedRate: plan.mode === "open" ? plan.rate : null,
      concurrency: plan.mode === "closed" ? plan.concurrency : null,
      windowMs: plan.durationMs,
      windowStartedAtMs: wall(windowStart),
      windowEndedAtMs: wall(windowEnd),
      issued: { ...issued },
      offeredRate,
      completions: { ...completions },
      throughput: round(completions.window / windowSeconds),
      perSecond,
      latency: summarize(latencies),
      outcomes: { ...outcomes },
      unfinished: { window: windowPending, total: tracked.size },
      generatorLag: lag,
      produceAck: summarize(acks),
      produceErrors,
      firstProduceError,
      inFlight: { ...inFlight },
      keptUp: windowPending === 0 && produceErrors === 0 && !generatorBehind &&
        completions.window >= 0.95 * issued.window,
      generatorBehind,
      windowOrders,
    };
  }

  return { observe, run };
}
