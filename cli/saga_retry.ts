/**
 * `sagactl saga retry`: an operator's retry is an event the saga engine handles like any other
 * (`OPERATOR_RETRY`): it alone says whether the saga may be retried and what follows (its
 * pending compensation sent again). Applied in one transaction after locking the saga, through
 * the engine's `persistDecisions` and the orchestrator's store, and recorded in its timeline as
 * `operator:<$USER>`; a preview (`--dry-run`, the console's confirmation) asks the engine the
 * same question and writes nothing. One saga (optionally followed to its end) or all of them.
 */
import { sleep } from "../lib/async/mod.ts";
import { type Sql, type TransactionSql, withTransaction } from "../lib/db/mod.ts";
import {
  decideSagaEvent,
  ORCHESTRATOR_SAGAS,
  persistDecisions,
  type SagaDecision,
} from "../lib/order_saga/mod.ts";
import {
  countHistory,
  lockSaga,
  readSagas,
  type StoredSaga,
} from "../lib/orchestrator_store/mod.ts";
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
import { listSagas, requireSaga, type SagaJson } from "./saga_view.ts";

/** One saga's line in what `saga retry --json` prints. */
export interface RetryJson {
  sagaId: string;
  orderId: string;
  /** `retried`; `planned` in a dry run; `skipped` when the saga engine refused the retry. */
  result: "retried" | "planned" | "skipped";
  fromStatus: SagaStatus;
  toStatus: SagaStatus;
  /** The compensation (re-)sent, e.g. `RefundPayment`. */
  step: string | null;
  /** The command's event type and id (null unless retried). */
  commandType: string | null;
  commandId: string | null;
  /** Why it was skipped: the engine's reason. */
  reason: string | null;
  /** The timeline note of the retry (null unless retried). */
  note: string | null;
}

/** Options of an operator's retry. */
export interface RetryOptions {
  /** `operator:<user>`, as the timeline records it. */
  actor: string;
  policy: SagaPolicy;
}

/**
 * Retries the saga as the engine decides, in one transaction after locking it: `retried` (and
 * written: state, timeline line, command) or `skipped` with the engine's reason (nothing is
 * written).
 */
export async function retrySaga(
  sql: Sql,
  sagaId: string,
  options: RetryOptions,
): Promise<RetryJson> {
  return await withTransaction(sql, async (tx: TransactionSql) => {
    const saga = await lockSaga(tx, sagaId);
    if (saga === null) throw new Error(`Cannot retry saga ${sagaId}: it does not exist`);
    const decision = decideRetry(saga, options);
    const retried = retryJson(saga, decision, "retried");
    if (retried.result === "retried") await persistDecisions(tx, [decision]);
    return retried;
  });
}

/**
 * What retrying these sagas would do, as the engine decides it on each as it stands now:
 * `planned` or `skipped` (with the engine's reason), in the order given; nothing is written.
 */
export async function planRetries(
  sql: Sql,
  sagaIds: readonly string[],
  options: RetryOptions,
): Promise<RetryJson[]> {
  const sagas = await readSagas(sql, sagaIds);
  return sagaIds.map((sagaId) => {
    const saga = sagas.get(sagaId);
    if (saga === undefined) throw new Error(`Cannot retry saga ${sagaId}: it does not exist`);
    return retryJson(saga, decideRetry(saga, options), "planned");
  });
}

function decideRetry(saga: StoredSaga, options: RetryOptions): SagaDecision {
  return decideSagaEvent(saga, {
    // The engine's note says "Operator <user> retried…"; the history's actor is operator:<user>.
    event: { type: "OPERATOR_RETRY", actor: options.actor.replace(/^operator:/, "") },
    origin: { eventType: "OPERATOR_RETRY", eventId: null, actor: options.actor },
    policy: options.policy,
    sagas: ORCHESTRATOR_SAGAS,
  });
}

function retryJson(
  saga: StoredSaga,
  { transition }: SagaDecision,
  result: "retried" | "planned",
): RetryJson {
  const { state } = saga;
  const base = { sagaId: state.sagaId, orderId: state.key, fromStatus: state.status };
  if (transition.outcome === "ignored") {
    return {
      ...base,
      result: "skipped",
      toStatus: state.status,
      step: null,
      commandType: null,
      commandId: null,
      // "It is COMPLETED; only a COMPENSATION_FAILED saga can be retried", to follow a colon.
      reason: transition.note.charAt(0).toLowerCase() + transition.note.slice(1),
      note: null,
    };
  }
  const command = result === "retried" ? transition.commands[0] : undefined;
  return {
    ...base,
    result,
    toStatus: transition.state.status,
    step: transition.step,
    commandType: command?.eventType ?? null,
    commandId: command?.eventId ?? null,
    reason: null,
    note: result === "retried" ? transition.note : null,
  };
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

/**
 * What retrying the saga would do, as the engine decides it; throws the engine's refusal
 * (e.g. the saga is not COMPENSATION_FAILED). What `saga retry` and the console check first.
 */
export async function planRetry(ctx: CliContext, sagaId: string): Promise<RetryJson> {
  const [planned] = await planRetries(await ctx.db(), [sagaId], {
    actor: ctx.actor(),
    policy: ctx.policy(),
  });
  if (planned?.result !== "planned") {
    throw new Error(`Cannot retry saga ${sagaId}: ${planned?.reason}`);
  }
  return planned;
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

/** The plan of a retry (`planRetry`) in words, as `saga retry --dry-run` prints it. */
export function planText(saga: SagaJson, planned: RetryJson): string {
  const rest = saga.pendingCompensations.slice(1);
  const then = rest.length === 0 ? "" : `, then ${rest.join(", then ")}`;
  return `${planned.fromStatus} → ${planned.toStatus}, send ${
    planned.step ?? NONE
  } again${then}; ` +
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
  const planned = await planRetry(ctx, saga.sagaId);
  const print = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
  const actor = ctx.actor();
  if (options.dryRun) {
    if (options.json) {
      return print.json({ dryRun: true, actor, retries: [planned], wait: null, saga });
    }
    print.line(`Would retry saga ${saga.sagaId} as ${actor}: ${planText(saga, planned)}`);
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
  const history = await countHistory(sql, saga.sagaId);
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
  const policy = ctx.policy();
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
    const plan = await planRetries(sql, failed.map((saga) => saga.sagaId), { actor, policy });
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

function retriedText(print: Printer, retried: RetryJson, actor: string): string {
  return `Retried saga ${retried.sagaId} as ${actor}: ${retried.fromStatus} → ${
    print.paint(retried.toStatus, statusColour(retried.toStatus))
  }, sent ${retried.commandType} (${retried.step}) again as command ${retried.commandId}`;
}
