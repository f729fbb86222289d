/**
 * What the orchestrator does after a transaction committed: update the Redis status cache, one
 * round trip per transaction (best effort: Redis down never stops a saga), and record metrics.
 * Each status carries its version (`persistWithVersions` in lib/order_saga), so that of several replicas
 * publishing the same saga, a late update never replaces a later one (lib/saga_status).
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { Redis } from "ioredis";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import type { AppliedEvent } from "../../lib/order_saga/mod.ts";
import { FINAL_STATUSES } from "../../lib/saga/mod.ts";
import { publishSagaStatuses, type SagaStatusUpdate } from "../../lib/saga_status/mod.ts";

/**
 * Called once a transaction committed, with the events it decided, in order (applied or
 * ignored), and the status version of each saga it applied one to, by saga id.
 */
export type OnApplied = (
  applied: readonly AppliedEvent[],
  versions: ReadonlyMap<string, number>,
) => void;

/**
 * The status updates of a committed transaction: one per saga it applied an event to, from the
 * last (the saga's status at the commit), with the saga's version when it has one.
 */
export function statusUpdates(
  applied: readonly AppliedEvent[],
  versions: ReadonlyMap<string, number>,
  updatedAt: Date,
): SagaStatusUpdate[] {
  const updates = new Map<string, SagaStatusUpdate>();
  for (const { transition } of applied) {
    if (transition.outcome !== "applied") continue;
    const { state } = transition;
    const version = versions.get(state.sagaId);
    updates.set(state.sagaId, {
      sagaId: state.sagaId,
      orderId: state.key,
      status: state.status,
      step: transition.step,
      note: transition.note,
      updatedAt: updatedAt.toISOString(),
      ...(version === undefined ? {} : { version }),
    });
  }
  return [...updates.values()];
}

/**
 * Publishes a committed transaction's statuses to Redis in one call (`statusUpdates`); resolves
 * once they are written or the failure is logged, once per outage; never rejects.
 */
export function createStatusPublisher(
  redis: Redis,
  log: Logger,
): (...args: Parameters<OnApplied>) => Promise<void> {
  let failing = false;
  return async function publishStatuses(applied, versions) {
    const updates = statusUpdates(applied, versions, new Date());
    if (updates.length === 0) return;
    try {
      await publishSagaStatuses(redis, updates);
      if (failing) log.info("Saga status cache reachable again");
      failing = false;
    } catch (error) {
      if (!failing) {
        log.warn("Cannot update the saga status cache", { error: errorMessage(error) });
      }
      failing = true;
    }
  };
}

/** Counts sagas started and finished, step latencies, re-sends, retries and alerts. */
export function createSagaMetrics(registry: Registry): (applied: AppliedEvent) => void {
  const registers = [registry];
  const started = new Counter({ name: "sagas_started_total", help: "Sagas started", registers });
  const finished = new Counter({
    name: "sagas_finished_total",
    help: "Sagas that reached a final status, by status",
    labelNames: ["status"] as const,
    registers,
  });
  const stepLatency = new Histogram({
    name: "saga_step_duration_seconds",
    help:
      "Time from a command's first send to the reply or give-up that ended it, by step and phase",
    labelNames: ["step", "phase"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const resent = new Counter({
    name: "saga_commands_resent_total",
    help: "Commands sent again, under their eventId, because their reply was overdue",
    labelNames: ["step", "phase"] as const,
    registers,
  });
  const retries = new Counter({
    name: "compensation_retries_total",
    help: "Compensation attempts scheduled for retry",
    registers,
  });
  const alerts = new Counter({
    name: "saga_alerts_total",
    help: "COMPENSATION_FAILED alerts sent to orders.dlq",
    registers,
  });
  return function recordMetrics({ before, transition }) {
    if (transition.outcome !== "applied") return;
    const after = transition.state;
    if (before.status === "STARTED") started.inc();
    if (!FINAL_STATUSES.has(before.status) && FINAL_STATUSES.has(after.status)) {
      finished.inc({ status: after.status });
    }
    const ended = before.pending;
    if (ended !== null && after.pending?.commandId !== ended.commandId) {
      stepLatency.observe(
        { step: transition.step ?? "unknown", phase: ended.phase },
        Math.max(0, Date.now() - ended.firstSentAt.getTime()) / 1_000,
      );
    }
    const pending = before.pending;
    if (pending !== null && transition.commands[0]?.eventId === pending.commandId) {
      resent.inc({ step: transition.step ?? "unknown", phase: pending.phase });
    }
    if (after.retryCount > before.retryCount) retries.inc();
    if (transition.alert !== null) alerts.inc();
  };
}
