/**
 * `sagactl saga retry`: a COMPENSATION_FAILED saga's pending compensation sent again, through
 * the saga engine (`OPERATOR_RETRY`) in one transaction after locking the saga, recorded in its
 * timeline as `operator:<$USER>`; one saga (optionally followed to its end) or all of them.
 */
import { sleep } from "../lib/async/mod.ts";
import { type Sql, withTransaction } from "../lib/db/mod.ts";
import { applySagaEvent, lockSaga, ORCHESTRATOR_SAGAS } from "../lib/order_saga/mod.ts";
import type { SagaPolicy, SagaStatus } from "../lib/saga/mod.ts";
import { publishSagaStatus } from "../lib/saga_status/mod.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import { followSaga, outcomeLine, progressLine, waitExitCode, waitJson } from "./follow.ts";
import {
  COLOURS,
  colourWanted,
  formatAgo,
  NONE,
  type Printer,
  printer,
  statusColour,
  truncate,
} from "./output.ts";
import { listSagas, requireSaga, type SagaJson, timelineLength } from "./saga_view.ts";

/** One saga's line in what `saga retry --json` prints. */
export interface RetryJson {
  sagaId: string;
  orderId: string;
  /** `retried`; `planned` in a dry run; `skipped` when its status changed meanwhile. */
  result: "retried" | "planned" | "skipped";
  fromStatus: SagaStatus;
  toStatus: SagaStatus;
  /** The compensation (re-)sent, e.g. `RefundPayment`. */
  step: string | null;
  /** The command's event type and id (null unless retried). */
  commandType: string | null;
  commandId: string | null;
  /** Why it was skipped. */
  reason: string | null;
  /** The timeline note of the retry (null unless retried). */
  note: string | null;
}

/**
 * Sends the saga's pending compensation again, in one transaction after locking it; a saga no
 * longer COMPENSATION_FAILED is skipped and nothing is written.
 */
export async function retrySaga(
  sql: Sql,
  sagaId: string,
  options: { actor: string; policy: SagaPolicy },
): Promise<RetryJson> {
  const { actor } = options;
  return await withTransaction(sql, async (tx) => {
    const saga = await lockSaga(tx, sagaId);
    if (saga === null) throw new Error(`Cannot retry saga ${sagaId}: it does not exist`);
    const { state } = saga;
    const base = { sagaId, orderId: state.key, fromStatus: state.status };
    if (state.status !== "COMPENSATION_FAILED") {
      return {
        ...base,
        result: "skipped",
        toStatus: state.status,
        step: null,
        commandType: null,
        commandId: null,
        reason: `it is ${state.status} now; only a COMPENSATION_FAILED saga can be retried`,
        note: null,
      };
    }
    const applied = await applySagaEvent(tx, saga, {
      // The engine's note says "Operator <user> retried…"; the history's actor is operator:<user>.
      event: { type: "OPERATOR_RETRY", actor: actor.replace(/^operator:/, "") },
      origin: { eventType: "OPERATOR_RETRY", eventId: null, actor },
      policy: options.policy,
      sagas: ORCHESTRATOR_SAGAS,
    });
    const { transition } = applied;
    if (transition.outcome !== "applied") {
      // Rolls the transaction back: nothing is written.
      throw new Error(`Cannot retry saga ${sagaId}: the saga engine refused: ${transition.note}`);
    }
    const command = transition.commands[0];
    return {
      ...base,
      result: "retried",
      toStatus: transition.state.status,
      step: transition.step,
      commandType: command?.eventType ?? null,
      commandId: command?.eventId ?? null,
      reason: null,
      note: transition.note,
    };
  });
}

/**
 * A function that updates the Redis status cache after a retry, as the orchestrator does after
 * its own transitions (best effort: without Redis it does nothing).
 */
export function statusPublisher(ctx: CliContext): (retried: RetryJson) => Promise<void> {
  let redis: ReturnType<CliContext["redis"]> | undefined;
  return async function publishRetryStatus(retried) {
    if (retried.result !== "retried") return;
    redis ??= ctx.redis("status");
    const client = await redis;
    if (client === null) return;
    await publishSagaStatus(client, {
      sagaId: retried.sagaId,
      orderId: retried.orderId,
      status: retried.toStatus,
      step: retried.step,
      note: retried.note ?? "",
      updatedAt: new Date().toISOString(),
    }).catch(() => {});
  };
}

/** Throws the refusal of `saga retry` when the saga is not COMPENSATION_FAILED. */
export function assertRetryable(saga: SagaJson): void {
  if (saga.status !== "COMPENSATION_FAILED") {
    throw new Error(
      `Cannot retry saga ${saga.sagaId}: it is ${saga.status}; only a COMPENSATION_FAILED saga can be retried`,
    );
  }
}

/**
 * Retries one saga as `ctx.actor()` and updates the status cache; throws when it was skipped
 * (its status changed since it was read). What `saga retry <id>` and the console both run.
 */
export async function retryNow(ctx: CliContext, sagaId: string): Promise<RetryJson> {
  const retried = await retrySaga(await ctx.db(), sagaId, {
    actor: ctx.actor(),
    policy: ctx.policy(),
  });
  await statusPublisher(ctx)(retried);
  if (retried.result !== "retried") {
    throw new Error(`Cannot retry saga ${sagaId}: ${retried.reason}`);
  }
  return retried;
}

/** The plan of a retry in words, as `saga retry --dry-run` prints it. */
export function planText(saga: SagaJson): string {
  const [first, ...rest] = saga.pendingCompensations;
  const then = rest.length === 0 ? "" : `, then ${rest.join(", then ")}`;
  return `COMPENSATION_FAILED → COMPENSATING, send ${first ?? NONE} again${then}; ` +
    `failed attempts ${saga.retryCount} → 0`;
}

/** Retries one saga; with `wait`, follows it until it ends again. */
export async function retryOne(
  ctx: CliContext,
  id: string,
  options: { dryRun: boolean; wait: boolean; timeoutMs: number; json: boolean },
): Promise<void> {
  const sql = await ctx.db();
  const saga = await requireSaga(sql, id);
  assertRetryable(saga);
  const print = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
  const actor = ctx.actor();
  if (options.dryRun) {
    const planned = plannedRetry(saga);
    if (options.json) {
      return print.json({ dryRun: true, actor, retries: [planned], wait: null, saga });
    }
    print.line(`Would retry saga ${saga.sagaId} as ${actor}: ${planText(saga)}`);
    return print.line(print.paint("Dry run: nothing changed.", COLOURS.dim));
  }
  const progress = options.json
    ? (ctx.io.stderrIsTerminal ? printer(ctx.io.stderr, colourWanted(ctx.io.env, true)) : null)
    : print;
  let retried: RetryJson | undefined;
  const retry = async () => {
    retried = await retryNow(ctx, saga.sagaId);
    progress?.line(retriedText(progress, retried, actor));
  };
  if (!options.wait) {
    await retry();
    const after = await requireSaga(sql, saga.sagaId);
    if (options.json) {
      return print.json({ dryRun: false, actor, retries: [retried], wait: null, saga: after });
    }
    return print.line(
      print.paint(`Follow it with: sagactl saga show ${saga.sagaId}`, COLOURS.dim),
    );
  }
  // The timeline up to the failure is history; from the retry's own line on, it is progress.
  const history = await timelineLength(sql, saga.sagaId);
  const startedAt = Date.now();
  const result = await followSaga(ctx, {
    orderId: saga.orderId,
    timeoutMs: options.timeoutMs,
    start: retry,
    skipLines: history,
    onProgress: (line) => progress?.line(progressLine(progress, line, startedAt)),
    onNote: (text) => progress?.line(progress.paint(text, COLOURS.yellow)),
  });
  const exitCode = waitExitCode(result, "COMPENSATED");
  ctx.exitCode = exitCode;
  if (options.json) {
    return print.json({
      dryRun: false,
      actor,
      retries: [retried],
      wait: waitJson(result, exitCode),
      saga: result.saga,
    });
  }
  print.line(outcomeLine(print, result, options.timeoutMs, saga.orderId));
}

/** Retries every COMPENSATION_FAILED saga, oldest first, after printing the plan. */
export async function retryAllFailed(
  ctx: CliContext,
  options: { dryRun: boolean; rate: number; yes: boolean; json: boolean },
): Promise<void> {
  const sql = await ctx.db();
  const failed = (await listSagas(sql, { statuses: ["COMPENSATION_FAILED"], limit: 100_000 }))
    .reverse(); // oldest first
  const print = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
  const actor = ctx.actor();
  const plan = failed.map(plannedRetry);
  if (failed.length === 0) {
    if (options.json) return print.json({ dryRun: options.dryRun, actor, retries: [] });
    return print.line("No saga is COMPENSATION_FAILED: nothing to retry.");
  }
  const now = ctx.now();
  if (!options.json) {
    print.line(
      `${failed.length} saga(s) are COMPENSATION_FAILED; ${
        options.dryRun ? "would retry" : "will retry"
      } them as ${actor}, at most ${options.rate}/s:`,
    );
    print.table(
      ["SAGA ID", "ORDER ID", "COMPENSATION", "FAILED ATTEMPTS", "FAILED", "FAILURE"],
      failed.map((s) => [
        s.sagaId,
        s.orderId,
        s.step ?? NONE,
        String(s.retryCount),
        formatAgo(new Date(s.updatedAt), now),
        truncate(s.failure === null ? NONE : `${s.failure.code}: ${s.failure.reason}`, 60),
      ]),
    );
  }
  if (options.dryRun) {
    if (options.json) return print.json({ dryRun: true, actor, retries: plan });
    return print.line(print.paint("Dry run: nothing changed.", COLOURS.dim));
  }
  if (!options.yes) {
    if (!ctx.io.stdinIsTerminal) {
      throw new UsageError(
        `Refusing to retry ${failed.length} saga(s) without confirmation: add --yes (or preview with --dry-run)`,
        { command: "saga retry" },
      );
    }
    if (!await ctx.io.confirm(`Retry these ${failed.length} saga(s)?`)) {
      throw new Error("Cancelled: nothing was retried");
    }
  }
  const results: RetryJson[] = [];
  const publish = statusPublisher(ctx);
  const policy = ctx.policy();
  const intervalMs = 1_000 / options.rate;
  let next = Date.now();
  for (const saga of failed) {
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    next = Math.max(next, Date.now()) + intervalMs;
    const result = await retrySaga(sql, saga.sagaId, { actor, policy });
    await publish(result);
    results.push(result);
    if (!options.json) {
      print.line(
        result.result === "retried"
          ? retriedText(print, result, actor)
          : print.paint(`Skipped saga ${result.sagaId}: ${result.reason}`, COLOURS.yellow),
      );
    }
  }
  const count = results.filter((r) => r.result === "retried").length;
  if (options.json) return print.json({ dryRun: false, actor, retries: results });
  print.line(`Retried ${count} of ${failed.length} saga(s).`);
}

function plannedRetry(saga: SagaJson): RetryJson {
  return {
    sagaId: saga.sagaId,
    orderId: saga.orderId,
    result: "planned",
    fromStatus: saga.status,
    toStatus: "COMPENSATING",
    step: saga.step,
    commandType: null,
    commandId: null,
    reason: null,
    note: null,
  };
}

function retriedText(print: Printer, retried: RetryJson, actor: string): string {
  return `Retried saga ${retried.sagaId} as ${actor}: ${retried.fromStatus} → ${
    print.paint(retried.toStatus, statusColour(retried.toStatus))
  }, sent ${retried.commandType} (${retried.step}) again as command ${retried.commandId}`;
}
