/**
 * Following a saga live for `--wait`: the orchestrator's Redis status channel wakes the
 * follower at each transition, and each step is then read from the saga history in PostgreSQL
 * (the truth), so nothing is missed or printed twice. Without Redis it polls PostgreSQL.
 */
import { Option } from "@commander-js/extra-typings";
import type { Sql } from "../lib/db/mod.ts";
import { subscribeSagaStatus } from "../lib/saga_status/mod.ts";
import type { CliContext } from "./context.ts";
import { withTimeout } from "./context.ts";
import { EXIT_CODES } from "./errors.ts";
import { COLOURS, formatDuration, type Printer, statusColour } from "./output.ts";
import { parseTimeout } from "./parse.ts";
import { findSaga, isFinal, readTimeline, type SagaJson, type TimelineJson } from "./saga_view.ts";

/** How the follower learnt of progress. */
export type LiveSource = "redis" | "postgres";

/** Options of `followSaga`. */
export interface FollowOptions {
  orderId: string;
  timeoutMs: number;
  /** Runs once the follower listens: places the order or applies the retry. */
  start: () => Promise<void>;
  /** Timeline lines that are history already, not progress (default 0). */
  skipLines?: number;
  /** Called with each applied timeline line after `start`, oldest first. */
  onProgress: (line: TimelineJson) => void;
  /** Called when the follower changes how it learns of progress. */
  onNote: (text: string) => void;
}

/** What following ended with. */
export interface FollowResult {
  /** The saga as last read; null when the orchestrator never stored it. */
  saga: SagaJson | null;
  timedOut: boolean;
  live: LiveSource;
  elapsedMs: number;
}

/** Polls this often while Redis wakes the follower (a safety net), and without Redis. */
const POLL_WITH_REDIS_MS = 1_000;
const POLL_WITHOUT_REDIS_MS = 200;

/** Follows the order's saga from `start` until a final status or the timeout. */
export async function followSaga(ctx: CliContext, options: FollowOptions): Promise<FollowResult> {
  const sql = await ctx.db();
  const wakeUp = createWakeUp();
  let live: LiveSource = "postgres";
  let finished = false;
  const redis = await ctx.redis("wait");
  if (redis === null) {
    options.onNote("Redis does not answer: following the saga by polling PostgreSQL");
  } else {
    try {
      await withTimeout(subscribeSagaStatus(redis, options.orderId, wakeUp.wake), 2_000);
      live = "redis";
      redis.once("close", () => {
        if (live !== "redis" || finished) return;
        live = "postgres";
        options.onNote("Lost Redis: following the saga by polling PostgreSQL");
        wakeUp.wake();
      });
    } catch {
      options.onNote("Cannot subscribe to Redis: following the saga by polling PostgreSQL");
    }
  }
  const startedAt = Date.now();
  await options.start();
  try {
    return await follow(sql, options, {
      deadline: startedAt + options.timeoutMs,
      startedAt,
      wakeUp,
      live: () => live,
    });
  } finally {
    finished = true;
  }
}

async function follow(
  sql: Sql,
  options: FollowOptions,
  state: {
    deadline: number;
    startedAt: number;
    wakeUp: ReturnType<typeof createWakeUp>;
    live: () => LiveSource;
  },
): Promise<FollowResult> {
  const { deadline, startedAt, wakeUp } = state;
  let printed = options.skipLines ?? 0;
  while (true) {
    const saga = await findSaga(sql, options.orderId);
    if (saga !== null) {
      const lines = await readTimeline(sql, saga.sagaId, printed);
      printed += lines.length;
      for (const line of lines) if (line.outcome === "applied") options.onProgress(line);
      if (isFinal(saga.status)) {
        return { saga, timedOut: false, live: state.live(), elapsedMs: Date.now() - startedAt };
      }
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { saga, timedOut: true, live: state.live(), elapsedMs: Date.now() - startedAt };
    }
    await wakeUp.wait(
      Math.min(remaining, state.live() === "redis" ? POLL_WITH_REDIS_MS : POLL_WITHOUT_REDIS_MS),
    );
  }
}

/** A wake-up call that is not lost when it comes while nobody waits. */
function createWakeUp() {
  let woken = false;
  let resolveWait: (() => void) | null = null;
  return {
    wake() {
      woken = true;
      resolveWait?.();
    },
    async wait(ms: number): Promise<void> {
      if (woken) {
        woken = false;
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        resolveWait = resolve;
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
      resolveWait = null;
      woken = false;
    },
  };
}

/** The exit code of a `--wait`: 0 for `success`, 3 for another final status, 4 on timeout. */
export function waitExitCode(result: FollowResult, success: string): number {
  if (result.timedOut) return EXIT_CODES.timeout;
  return result.saga?.status === success ? EXIT_CODES.ok : EXIT_CODES.notCompleted;
}

/** The `wait` part of a command's JSON output. */
export function waitJson(result: FollowResult, exitCode: number) {
  return {
    outcome: result.timedOut ? "TIMEOUT" : result.saga!.status,
    exitCode,
    elapsedMs: result.elapsedMs,
    live: result.live,
  };
}

/** The `--timeout` option of the commands that can `--wait`. */
export function waitTimeoutOption() {
  return new Option("-t, --timeout <duration>", "with --wait: give up after this long (exit 4)")
    .argParser(parseTimeout)
    .default(30_000, "30s");
}

/** One progress line: time since the wait began, status, step and the timeline note. */
export function progressLine(out: Printer, line: TimelineJson, startedAt: number): string {
  const elapsed = `+${formatDuration(Math.max(0, Date.parse(line.at) - startedAt))}`.padStart(9);
  const status = out.paint(line.toStatus.padEnd(19), statusColour(line.toStatus));
  return `  ${elapsed}  ${status}  ${(line.step ?? "").padEnd(16)}  ${line.note}`;
}

/** The last line of a `--wait`: the outcome, and why when it is not a success. */
export function outcomeLine(
  out: Printer,
  result: FollowResult,
  timeoutMs: number,
  orderId: string,
): string {
  const saga = result.saga;
  if (result.timedOut) {
    const where = saga === null
      ? "the orchestrator has not stored its saga yet (is it running?)"
      : `it is still ${saga.status}${saga.step === null ? "" : ` at ${saga.step}`}`;
    return out.paint(
      `TIMEOUT after ${
        formatDuration(timeoutMs)
      }: ${where}; it may still finish: sagactl saga show ${orderId}`,
      COLOURS.red,
    );
  }
  const head = out.paint(saga!.status, statusColour(saga!.status));
  const why = saga!.failure === null
    ? ""
    : `; ${saga!.failure.step} failed (${saga!.failure.code}): ${saga!.failure.reason}`;
  const next = saga!.status === "COMPENSATION_FAILED"
    ? `; ${
      saga!.step
    } keeps failing, an operator is needed: fix the cause, then sagactl saga retry ${saga!.sagaId}`
    : "";
  return `${head} in ${formatDuration(result.elapsedMs)}: saga ${saga!.sagaId}${why}${next}`;
}
