/**
 * The follower of outcomes that are not final (DESIGN §5): a PaymentIntent Stripe answered
 * `processing` and a refund it answered `pending` are read again (`paymentIntents.retrieve`,
 * `refunds.retrieve`), with no transaction open, until they are final, each later than the last
 * (`PAYMENT_FOLLOW_INTERVAL`, doubled up to `PAYMENT_FOLLOW_MAX_INTERVAL`). A final outcome is
 * recorded in one short transaction, then the order's commands that awaited it are decided again
 * by the participant (`resumeAwaiting`), which answers them as any command: PAYMENT_PROCESSED or
 * PAYMENT_FAILED for the charge, and for a refund that waited on a `processing` charge, the
 * refund (or PAYMENT_REFUNDED with amount 0 when nothing was charged).
 *
 * Several replicas may follow the same rows: reads change nothing, recording is conditional,
 * and a command is answered by whoever claims its key, once.
 */
import { withTransaction } from "../../lib/db/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { createLimit } from "../../lib/participant/mod.ts";
import { followDelayMs } from "./decide.ts";
import type { PaymentGateway } from "./stripe_gateway.ts";
import {
  dueFollows,
  type Followed,
  lockPayment,
  ordersAwaitingFinalOutcomes,
  postponeFollow,
  recordChargeOutcome,
  recordRefundOutcome,
} from "./store.ts";

/** Options of `startFollower`. */
export interface FollowerOptions {
  sql: Sql;
  log: Logger;
  gateway: Pick<PaymentGateway, "followCharge" | "followRefund">;
  /** Decides again the orders' commands that awaited an outcome (the participant's). */
  resumeAwaiting(orderIds: readonly string[]): Promise<void>;
  /** The first wait before an outcome is read again, and how often due ones are looked for. */
  intervalMs: number;
  /** The longest wait between two reads of one outcome. */
  maxIntervalMs: number;
  /** Stripe reads in flight at once (default 8). */
  concurrency?: number;
}

/** A running follower. */
export interface Follower {
  /** Reads every due outcome once, records the final ones; resolves with how many were read. */
  followOnce(): Promise<number>;
  /** Stops the loop after the pass in hand. */
  stop(): Promise<void>;
}

/** Rows read in one pass at most. */
const PASS_LIMIT = 200;

/** Starts following outcomes that are not final, every `intervalMs`, until stopped. */
export function startFollower(options: FollowerOptions): Follower {
  const { sql, log, gateway } = options;
  const limit = createLimit(options.concurrency ?? 8);
  const policy = { initialMs: options.intervalMs, maxMs: options.maxIntervalMs };

  /** Reads one outcome; records it when final; true when the order's commands can be decided. */
  async function follow(followed: Followed): Promise<boolean> {
    const { orderId, key } = followed;
    let outcome: string;
    if (followed.kind === "charge") {
      const result = await gateway.followCharge({
        orderId,
        paymentIntentId: followed.paymentIntentId,
        idempotencyKey: key,
      });
      outcome = result.outcome;
      if (result.outcome !== "processing") {
        await withTransaction(sql, async (tx) => {
          await lockPayment(tx, orderId);
          await recordChargeOutcome(tx, { orderId, key, result });
        });
      }
    } else {
      const result = await gateway.followRefund({ orderId, refundId: followed.refundId });
      outcome = result.outcome;
      if (result.outcome !== "pending") {
        await withTransaction(sql, async (tx) => {
          await lockPayment(tx, orderId);
          await recordRefundOutcome(tx, { orderId, commandId: key, result });
        });
      }
    }
    if (outcome === "processing" || outcome === "pending") {
      await postponeFollow(sql, followed, followDelayMs(followed.polls, policy));
      return false;
    }
    log.info("Outcome final: the order's awaiting commands are decided again", {
      orderId,
      followed: followed.kind,
      outcome,
      polls: followed.polls + 1,
    });
    return true;
  }

  async function followOnce(): Promise<number> {
    const due = await dueFollows(sql, PASS_LIMIT);
    const settled = await Promise.all(
      due.map((followed) =>
        limit(() => follow(followed)).catch(async (error) => {
          log.warn("Cannot follow an outcome that is not final yet; reading it again later", {
            orderId: followed.orderId,
            followed: followed.kind,
            error,
          });
          await postponeFollow(sql, followed, followDelayMs(followed.polls, policy)).catch(
            () => {},
          );
          return false;
        })
      ),
    );
    const final = due.filter((_, index) => settled[index]).map((f) => f.orderId);
    // Also orders whose outcome became final without their commands decided again (a crash
    // between the two, or the resume failed): nothing else would answer them.
    const stranded = await ordersAwaitingFinalOutcomes(sql, PASS_LIMIT);
    const orders = [...new Set([...final, ...stranded])];
    for (const orderId of orders) {
      try {
        await options.resumeAwaiting([orderId]);
      } catch (error) {
        log.warn("Cannot decide the commands that awaited an outcome; trying again later", {
          orderId,
          error,
        });
      }
    }
    return due.length;
  }

  let stopped = false;
  let wake: (() => void) | undefined;
  const loop = (async function followLoop() {
    while (!stopped) {
      try {
        await followOnce();
      } catch (error) {
        log.warn("Cannot look for outcomes to follow; trying again", { error });
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  return {
    followOnce,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
