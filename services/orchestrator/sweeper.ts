/**
 * The sweep: finds sagas whose step deadline passed or whose compensation retry is due and
 * applies that event. Rows are taken with `FOR UPDATE SKIP LOCKED`, so several orchestrator
 * replicas sweep side by side without handling a saga twice.
 */
import { sleep } from "../../lib/async/mod.ts";
import { type Sql, withTransaction } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import {
  type AppliedEvent,
  decideSagaEvent,
  lockDueSagas,
  lockSagas,
  persistDecisions,
} from "../../lib/order_saga/mod.ts";
import type { OutboxRelay } from "../../lib/outbox/mod.ts";
import type { SagaEvent, SagaPolicy } from "../../lib/saga/mod.ts";

/** Options of `startSweeper`. */
export interface SweeperOptions {
  sql: Sql;
  log: Logger;
  policy: SagaPolicy;
  /** Pause between sweeps that found less than a full batch. */
  intervalMs: number;
  /** Sagas per transaction (default 100). */
  batchSize?: number;
  /** Called after each sweep transaction committed, with what it applied. */
  onApplied: (applied: AppliedEvent) => void;
  /** The service's relay, handed the commands once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
  /**
   * True while replies may be waiting unread (the orchestrator's consumer is not fetching, e.g.
   * in a rebalance after a replica died): step deadlines are then left for a later sweep, so a
   * reply stuck behind the consumer is not mistaken for a silent participant. Retries go on.
   */
  holdDeadlines?: () => boolean;
}

/** Sweeps once: applies every due event of up to `batchSize` sagas in one transaction. */
export async function sweepOnce(
  options: Omit<SweeperOptions, "intervalMs">,
  now = new Date(),
): Promise<AppliedEvent[]> {
  const { applied, outbox } = await withTransaction(options.sql, async (tx) => {
    const deadlines = !(options.holdDeadlines?.() ?? false);
    const due = await lockDueSagas(tx, now, options.batchSize ?? 100, deadlines);
    const decisions = [...(await lockSagas(tx, due)).values()].map((saga) => {
      const { pending } = saga.state;
      const overdue = deadlines && pending !== null && pending.deadlineAt <= now;
      const event: SagaEvent = overdue ? { type: "DEADLINE_PASSED" } : { type: "RETRY_DUE" };
      return decideSagaEvent(saga, {
        event,
        origin: {
          eventType: event.type,
          eventId: null,
          actor: "sweeper",
        },
        policy: options.policy,
        now,
      });
    });
    const outbox = await persistDecisions(tx, decisions, { notify: options.relay === undefined });
    return { applied: decisions, outbox };
  });
  options.relay?.publishCommitted(outbox);
  for (const result of applied) options.onApplied(result);
  return applied;
}

/** Sweeps until stopped. */
export function startSweeper(options: SweeperOptions): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const batchSize = options.batchSize ?? 100;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      let swept = 0;
      try {
        swept = (await sweepOnce(options)).length;
      } catch (error) {
        options.log.warn("Sweep failed; will retry", { error: errorMessage(error) });
      }
      if (swept < batchSize) await sleep(options.intervalMs, stopping.signal).catch(() => {});
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
