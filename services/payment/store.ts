/**
 * The payment service's SQL: an order's payment, loaded under lock, and its changes. A charge or
 * a refund is recorded twice (DESIGN §5: atomic phases): its attempt before Stripe is called,
 * its outcome after, each in its own transaction. An outcome that is not final (a PaymentIntent
 * `processing`, a refund `pending`) is recorded as such and followed: read again at `follow_at`.
 */
import type { Sql, TransactionSql } from "../../lib/db/mod.ts";
import type { ChargeResult, RefundResult } from "./stripe_gateway.ts";
import type { ChargeAttempt, Payment } from "./decide.ts";

interface PaymentRow {
  status: Payment["status"];
  amount_cents: string;
  currency: string | null;
  payment_intent_id: string | null;
  failure_code: string | null;
  failure_reason: string | null;
  attempt_key: string | null;
  payment_method: string | null;
  intent_status: string | null;
  refund_attempt_key: string | null;
  pending_refund_id: string | null;
}

/**
 * The order's payment, locked for the rest of the transaction; null when there is none. A
 * transaction-scoped advisory lock on the order comes first, so two commands for an order with
 * no row yet (say, two charges under different ids) are decided one after the other, and only
 * one records an attempt. With `commandId`, the refund that command made, if it failed, comes
 * with a `SUCCEEDED` payment (`ownRefundFailure`).
 */
export async function lockPayment(
  tx: TransactionSql,
  orderId: string,
  options: { commandId?: string } = {},
): Promise<Payment | null> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`payment:${orderId}`}, 0))`;
  const [row] = await tx<PaymentRow[]>`
    select p.status, p.amount_cents, p.currency, p.payment_intent_id, p.failure_code,
      p.failure_reason, p.attempt_key, p.payment_method, p.intent_status,
      r.command_id as refund_attempt_key,
      r.stripe_refund_id as pending_refund_id
    from payment.payments p
      left join payment.refunds r on r.order_id = p.order_id and r.status = 'PENDING'
    where p.order_id = ${orderId} for update of p`;
  if (row === undefined) return null;
  const amountCents = Number(row.amount_cents);
  switch (row.status) {
    case "PENDING":
      return {
        status: row.status,
        attempt: {
          key: row.attempt_key!,
          amountCents,
          currency: row.currency ?? "usd",
          paymentMethod: row.payment_method!,
        },
        ...(row.intent_status === "processing" && row.payment_intent_id !== null
          ? { processingIntentId: row.payment_intent_id }
          : {}),
      };
    case "SUCCEEDED": {
      const [failed] = options.commandId === undefined ? [] : await tx<
        { stripe_refund_id: string | null; failure_reason: string | null }[]
      >`
        select stripe_refund_id, failure_reason from payment.refunds
        where order_id = ${orderId} and command_id = ${options.commandId} and status = 'FAILED'
        order by id desc limit 1`;
      return {
        status: row.status,
        paymentIntentId: intentOf(orderId, row),
        amountCents,
        ...(row.refund_attempt_key === null ? {} : { refundAttemptKey: row.refund_attempt_key }),
        ...(row.pending_refund_id === null ? {} : { pendingRefundId: row.pending_refund_id }),
        ...(failed === undefined ? {} : {
          ownRefundFailure: {
            code: failed.failure_reason ?? "refund_failed",
            reason: `Refund ${failed.stripe_refund_id ?? "(none)"} ended in status "failed"${
              failed.failure_reason === null ? "" : `: ${failed.failure_reason}`
            }`,
          },
        }),
      };
    }
    case "REFUNDED": {
      const [refund] = await tx<{ stripe_refund_id: string | null; amount_cents: string }[]>`
        select stripe_refund_id, amount_cents from payment.refunds
        where order_id = ${orderId} and status = 'SUCCEEDED' order by id desc limit 1`;
      return {
        status: row.status,
        paymentIntentId: intentOf(orderId, row),
        amountCents,
        refundId: refund?.stripe_refund_id ?? null,
        refundedCents: Number(refund?.amount_cents ?? amountCents),
      };
    }
    case "DECLINED":
      return {
        status: row.status,
        failureCode: row.failure_code ?? "payment_failed",
        failureReason: row.failure_reason ?? `The payment of order "${orderId}" was declined`,
      };
    case "CANCELLED":
      return { status: row.status };
  }
}

/** Records a charge attempt before Stripe is called: the order's payment is `PENDING`. */
export async function recordChargeAttempt(
  tx: TransactionSql,
  orderId: string,
  attempt: ChargeAttempt,
) {
  await tx`insert into payment.payments
    (order_id, status, amount_cents, currency, payment_method, attempt_key)
    values (${orderId}, 'PENDING', ${attempt.amountCents}, ${attempt.currency},
      ${attempt.paymentMethod}, ${attempt.key})`;
}

/**
 * Records what the charge attempt under `key` came to: `SUCCEEDED`, `DECLINED` (a business
 * failure decides the order's payment too), or still `PENDING` with its PaymentIntent
 * `processing`, to be followed. False when the payment is no longer that pending attempt (its
 * outcome recorded already).
 */
export async function recordChargeOutcome(
  tx: TransactionSql,
  outcome: { orderId: string; key: string; result: ChargeResult },
): Promise<boolean> {
  const { orderId, key, result } = outcome;
  if (result.outcome === "processing") {
    const followed = await tx`update payment.payments
      set payment_intent_id = ${result.paymentIntentId}, intent_status = 'processing',
        follow_at = coalesce(follow_at, now()), updated_at = now()
      where order_id = ${orderId} and status = 'PENDING' and attempt_key = ${key}
      returning order_id`;
    return followed.length > 0;
  }
  const rows = result.outcome === "succeeded"
    ? await tx`update payment.payments
      set status = 'SUCCEEDED', amount_cents = ${result.amountCents},
        payment_intent_id = ${result.paymentIntentId}, intent_status = 'succeeded',
        updated_at = now()
      where order_id = ${orderId} and status = 'PENDING' and attempt_key = ${key}
      returning order_id`
    : await tx`update payment.payments
      set status = 'DECLINED', payment_intent_id = ${result.paymentIntentId},
        failure_code = ${result.code}, failure_reason = ${result.reason}, updated_at = now()
      where order_id = ${orderId} and status = 'PENDING' and attempt_key = ${key}
      returning order_id`;
  return rows.length > 0;
}

/** Records that the order's refund came before any charge: a later charge fails. */
export async function writeTombstone(tx: TransactionSql, orderId: string) {
  await tx`insert into payment.payments (order_id, status, amount_cents)
    values (${orderId}, 'CANCELLED', 0)`;
}

/** Records a refund attempt under the key `commandId` before Stripe is called. */
export async function recordRefundAttempt(
  tx: TransactionSql,
  attempt: { orderId: string; commandId: string; amountCents: number },
) {
  await tx`insert into payment.refunds (order_id, command_id, amount_cents, status)
    values (${attempt.orderId}, ${attempt.commandId}, ${attempt.amountCents}, 'PENDING')`;
}

/**
 * Records what the refund attempt under `commandId` came to; a succeeded refund marks the payment
 * `REFUNDED`, a failed one leaves it `SUCCEEDED` (a new refund tries again), a `pending` one
 * stays `PENDING` with its Stripe id, to be followed. False when the attempt is no longer
 * pending (its outcome recorded already).
 */
export async function recordRefundOutcome(
  tx: TransactionSql,
  outcome: { orderId: string; commandId: string; result: RefundResult },
): Promise<boolean> {
  const { orderId, commandId, result } = outcome;
  if (result.outcome === "pending") {
    const followed = await tx`update payment.refunds
      set stripe_refund_id = ${result.refundId}, amount_cents = ${result.amountCents},
        follow_at = coalesce(follow_at, now()), updated_at = now()
      where order_id = ${orderId} and command_id = ${commandId} and status = 'PENDING'
      returning id`;
    return followed.length > 0;
  }
  const succeeded = result.outcome === "succeeded";
  const rows = await tx`update payment.refunds
    set status = ${succeeded ? "SUCCEEDED" : "FAILED"}, stripe_refund_id = ${result.refundId},
      amount_cents = ${succeeded ? result.amountCents : tx`amount_cents`},
      failure_reason = ${succeeded ? null : result.code}, follow_at = null, updated_at = now()
    where order_id = ${orderId} and command_id = ${commandId} and status = 'PENDING'
    returning id`;
  if (rows.length === 0) return false;
  if (succeeded) {
    await tx`update payment.payments set status = 'REFUNDED', updated_at = now()
      where order_id = ${orderId}`;
  }
  return true;
}

function intentOf(orderId: string, row: PaymentRow): string {
  if (row.payment_intent_id === null) {
    throw new TypeError(
      `Cannot load the payment of order "${orderId}": a ${row.status} payment has no PaymentIntent`,
    );
  }
  return row.payment_intent_id;
}

/** An outcome still moving, due to be read again. */
export type Followed =
  | { kind: "charge"; orderId: string; paymentIntentId: string; key: string; polls: number }
  | { kind: "refund"; orderId: string; refundId: string; key: string; polls: number };

/** Up to `limit` outcomes due to be read again (`follow_at` passed), the longest due first. */
export async function dueFollows(sql: Sql, limit: number): Promise<Followed[]> {
  const [charges, refunds] = await Promise.all([
    sql<
      { order_id: string; payment_intent_id: string; attempt_key: string; follow_polls: number }[]
    >`
      select order_id, payment_intent_id, attempt_key, follow_polls from payment.payments
      where status = 'PENDING' and payment_intent_id is not null and follow_at <= now()
      order by follow_at limit ${limit}`,
    sql<{ order_id: string; stripe_refund_id: string; command_id: string; follow_polls: number }[]>`
      select order_id, stripe_refund_id, command_id, follow_polls from payment.refunds
      where status = 'PENDING' and stripe_refund_id is not null and follow_at <= now()
      order by follow_at limit ${limit}`,
  ]);
  return [
    ...charges.map((row): Followed => ({
      kind: "charge",
      orderId: row.order_id,
      paymentIntentId: row.payment_intent_id,
      key: row.attempt_key,
      polls: row.follow_polls,
    })),
    ...refunds.map((row): Followed => ({
      kind: "refund",
      orderId: row.order_id,
      refundId: row.stripe_refund_id,
      key: row.command_id,
      polls: row.follow_polls,
    })),
  ];
}

/** Reads the outcome again in `delayMs`, if it is still the one followed. */
export async function postponeFollow(sql: Sql, followed: Followed, delayMs: number) {
  const at = sql`now() + make_interval(secs => ${delayMs / 1000})`;
  if (followed.kind === "charge") {
    await sql`update payment.payments set follow_at = ${at}, follow_polls = follow_polls + 1
      where order_id = ${followed.orderId} and status = 'PENDING'
        and attempt_key = ${followed.key}`;
  } else {
    await sql`update payment.refunds set follow_at = ${at}, follow_polls = follow_polls + 1
      where order_id = ${followed.orderId} and command_id = ${followed.key}
        and status = 'PENDING'`;
  }
}

/**
 * Orders with commands awaiting an outcome that is no longer followed (final, and recorded, but
 * the commands were not decided again: a crash in between, say), up to `limit`.
 */
export async function ordersAwaitingFinalOutcomes(sql: Sql, limit: number): Promise<string[]> {
  const rows = await sql<{ order_id: string }[]>`
    select distinct m.order_id from payment.processed_messages m
    where m.awaiting
      and not exists (select from payment.payments p where p.order_id = m.order_id
        and p.status = 'PENDING' and p.payment_intent_id is not null)
      and not exists (select from payment.refunds r where r.order_id = m.order_id
        and r.status = 'PENDING' and r.stripe_refund_id is not null)
    limit ${limit}`;
  return rows.map((row) => row.order_id);
}
