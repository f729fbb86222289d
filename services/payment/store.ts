/**
 * The payment service's SQL: an order's payment, loaded under lock, and its changes. A charge or
 * a refund is recorded twice (DESIGN §5: atomic phases): its attempt before Stripe is called,
 * its outcome after, each in its own transaction.
 */
import type { TransactionSql } from "../../lib/db/mod.ts";
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
  refund_attempt_key: string | null;
}

/**
 * The order's payment, locked for the rest of the transaction; null when there is none. A
 * transaction-scoped advisory lock on the order comes first, so two commands for an order with
 * no row yet (say, two charges under different ids) are decided one after the other, and only
 * one records an attempt.
 */
export async function lockPayment(tx: TransactionSql, orderId: string): Promise<Payment | null> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`payment:${orderId}`}, 0))`;
  const [row] = await tx<PaymentRow[]>`
    select status, amount_cents, currency, payment_intent_id, failure_code, failure_reason,
      attempt_key, payment_method,
      (select command_id from payment.refunds r
        where r.order_id = p.order_id and r.status = 'PENDING') as refund_attempt_key
    from payment.payments p where order_id = ${orderId} for update`;
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
      };
    case "SUCCEEDED":
      return {
        status: row.status,
        paymentIntentId: intentOf(orderId, row),
        amountCents,
        ...(row.refund_attempt_key === null ? {} : { refundAttemptKey: row.refund_attempt_key }),
      };
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
 * Records what the charge attempt under `key` came to: `SUCCEEDED`, or `DECLINED` (a business
 * failure decides the order's payment too). False when the payment is no longer that pending
 * attempt (its outcome recorded already).
 */
export async function recordChargeOutcome(
  tx: TransactionSql,
  outcome: { orderId: string; key: string; result: ChargeResult },
): Promise<boolean> {
  const { orderId, key, result } = outcome;
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
 * `REFUNDED`, a failed one leaves it `SUCCEEDED` (a new refund tries again). False when the
 * attempt is no longer pending (its outcome recorded already).
 */
export async function recordRefundOutcome(
  tx: TransactionSql,
  outcome: { orderId: string; commandId: string; result: RefundResult },
): Promise<boolean> {
  const { orderId, commandId, result } = outcome;
  const succeeded = result.outcome === "succeeded";
  const rows = await tx`update payment.refunds
    set status = ${succeeded ? "SUCCEEDED" : "FAILED"}, stripe_refund_id = ${result.refundId},
      amount_cents = ${succeeded ? result.amountCents : tx`amount_cents`},
      failure_reason = ${succeeded ? null : result.code}, updated_at = now()
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
