/**
 * The sweep: finds sagas whose step deadline passed or whose compensation retry is due and
 * applies that event (`DEADLINE_PASSED`: the command is sent again, or given up at its horizon;
 * `RETRY_DUE`). Rows are taken with `FOR UPDATE SKIP LOCKED`, so several orchestrator replicas
 * sweep side by side without handling a saga twice.
 *
 * Deadlines count only while some replica reads the step's reply partition (DESIGN §4): a reply
 * waiting unread in a dead replica's partitions, or behind a rebalance, is not a silent
 * participant. The design, the simplest found that is right with any number of replicas:
 *
 * - Every replica records the reply partitions it is assigned (kafkajs `GROUP_JOIN`) and when
 *   it last completed a fetch since (kafkajs `FETCH`), about every second, in
 *   `orchestrator.reply_partitions` (`startReplyReadRecorder`, reply_reads.ts). A replica that
 *   dies, stalls or rebalances stops moving its partitions' `read_at`.
 * - A saga's partition of a topic is the record key's (its order id's) murmur2 hash modulo the
 *   topic's partition count, as every producer's default partitioner picks it; the hash is kept
 *   on the saga row (`key_hash`), and the reply topic of each step comes from the definition
 *   through the event catalogue (`replyRoutes`).
 * - A deadline has passed only once its reply partition was read *after* it (`read_at >=
 *   deadline_at`, in `lockDueSagas`): a held saga is not even selected, so held sagas never
 *   crowd the others out of a batch.
 * - When a replica reads a partition nobody had read for more than `HOLD_AFTER_MS` (the gap since
 *   its last `read_at`), it pushes the deadline and the give-up horizon of every saga waiting on
 *   that partition forward by the gap, in the same transaction as the new `read_at`: the held
 *   time does not count, and the replies that waited are read before any deadline passes.
 *   A command sent during the gap gets at most the gap extra: late, never early.
 *
 * With several brokers, a fetch from one broker also vouches for partitions led by another; the
 * rule is per consumer, as fetches are. A backlog (lag) is reading too: a reply far behind the
 * consumer's position can still meet a re-send, which the participant answers from its record.
 */
import { sleep } from "../../lib/async/mod.ts";
import { type Sql, withTransaction } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import {
  type AppliedEvent,
  decideSagaEvent,
  persistWithVersions,
} from "../../lib/order_saga/mod.ts";
import {
  lockDueSagas,
  lockSagas,
  type ReplyPartitioning,
} from "../../lib/orchestrator_store/mod.ts";
import type { OutboxRelay } from "../../lib/outbox/mod.ts";
import type { EventType } from "../../lib/messages/mod.ts";
import type { SagaEvent, SagaPolicy, SagaRegistry } from "../../lib/saga/mod.ts";
import type { OnApplied } from "./observers.ts";

/** Options of `startSweeper`. */
export interface SweeperOptions {
  sql: Sql;
  log: Logger;
  policy: SagaPolicy;
  /** The saga definitions, by saga type. */
  sagas: SagaRegistry<EventType>;
  /** Pause between sweeps that found less than a full batch. */
  intervalMs: number;
  /** Sagas per transaction (default 100). */
  batchSize?: number;
  /** Called after each sweep transaction committed, with what it decided and the versions. */
  onApplied: OnApplied;
  /** The service's relay, handed the commands once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
  /**
   * The reply topics' routes and sizes: a deadline then passes only once some replica read its
   * reply partition after it. Without it every deadline counts (tests of the sweep alone).
   */
  replies?: () => ReplyPartitioning;
}

/** Sweeps once: applies every due event of up to `batchSize` sagas in one transaction. */
export async function sweepOnce(
  options: Omit<SweeperOptions, "intervalMs">,
  now = new Date(),
): Promise<AppliedEvent[]> {
  const { applied, outbox, versions } = await withTransaction(options.sql, async (tx) => {
    const due = await lockDueSagas(tx, now, options.batchSize ?? 100, options.replies?.());
    const decisions = [...(await lockSagas(tx, due)).values()].map((saga) => {
      const { pending } = saga.state;
      const overdue = pending !== null && pending.deadlineAt <= now;
      const event: SagaEvent = overdue ? { type: "DEADLINE_PASSED" } : { type: "RETRY_DUE" };
      return decideSagaEvent(saga, {
        event,
        origin: {
          eventType: event.type,
          eventId: null,
          actor: "sweeper",
        },
        policy: options.policy,
        sagas: options.sagas,
        now,
      });
    });
    const written = await persistWithVersions(tx, decisions, {
      notify: options.relay === undefined,
    });
    return { applied: decisions, ...written };
  });
  options.relay?.publishCommitted(outbox);
  options.onApplied(applied, versions);
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
