/** The payment service's SQL: an order's payment, loaded under lock, and its changes. */
import type { TransactionSql } from "../../lib/db/mod.ts";
import type { Failure, Payment } from "./decide.ts";

interface PaymentRow {
  status: Payment["status"];
  amount_cents: string;
  payment_intent_id: string | null;
  failure_code: string | null;
  failure_reason: string | null;
}

/**
 * The order's payment, locked for the rest of the transaction; null when there is none. A
 * transaction-scoped advisory lock on the order comes first, so two commands for an order with
 * no row yet (say, two charges under different ids) run one after the other, never both calling
 * Stripe.
 */
export async function lockPayment(tx: TransactionSql, orderId: string): Promise<Payment | null> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${`payment:${orderId}`}, 0))`;
  const [row] = await tx<PaymentRow[]>`
    select status, amount_cents, payment_intent_id, failure_code, failure_reason
    from payment.payments where order_id = ${orderId} for update`;
  if (row === undefined) return null;
  const amountCents = Number(row.amount_cents);
  switch (row.status) {
    case "SUCCEEDED":
      return { status: row.status, paymentIntentId: intentOf(orderId, row), amountCents };
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

/** Records a succeeded charge. */
export async function recordCharge(
  tx: TransactionSql,
  charge: { orderId: string; amountCents: number; currency: string; paymentIntentId: string },
) {
  await tx`insert into payment.payments
    (order_id, status, amount_cents, currency, payment_intent_id)
    values (${charge.orderId}, 'SUCCEEDED', ${charge.amountCents}, ${charge.currency},
      ${charge.paymentIntentId})`;
}

/** Records a charge that failed as a business outcome; the order's payment is decided. */
export async function recordDecline(
  tx: TransactionSql,
  decline: Failure & {
    orderId: string;
    amountCents: number;
    currency: string;
    paymentIntentId: string | null;
  },
) {
  await tx`insert into payment.payments
    (order_id, status, amount_cents, currency, payment_intent_id, failure_code, failure_reason)
    values (${decline.orderId}, 'DECLINED', ${decline.amountCents}, ${decline.currency},
      ${decline.paymentIntentId}, ${decline.code}, ${decline.reason})`;
}

/** Records that the order's refund came before any charge: a later charge fails. */
export async function writeTombstone(tx: TransactionSql, orderId: string) {
  await tx`insert into payment.payments (order_id, status, amount_cents)
    values (${orderId}, 'CANCELLED', 0)`;
}

/** Records a succeeded refund and marks the payment refunded. */
export async function recordRefund(
  tx: TransactionSql,
  refund: { orderId: string; commandId: string; refundId: string; amountCents: number },
) {
  await tx`insert into payment.refunds
    (order_id, command_id, stripe_refund_id, amount_cents, status)
    values (${refund.orderId}, ${refund.commandId}, ${refund.refundId}, ${refund.amountCents},
      'SUCCEEDED')`;
  await tx`update payment.payments set status = 'REFUNDED', updated_at = now()
    where order_id = ${refund.orderId}`;
}

/** Records a failed refund attempt; the payment stays `SUCCEEDED`, so a new refund tries again. */
export async function recordRefundFailure(
  tx: TransactionSql,
  failure: {
    orderId: string;
    commandId: string;
    refundId: string | null;
    amountCents: number;
    code: string;
  },
) {
  await tx`insert into payment.refunds
    (order_id, command_id, stripe_refund_id, amount_cents, status, failure_reason)
    values (${failure.orderId}, ${failure.commandId}, ${failure.refundId}, ${failure.amountCents},
      'FAILED', ${failure.code})`;
}

function intentOf(orderId: string, row: PaymentRow): string {
  if (row.payment_intent_id === null) {
    throw new TypeError(
      `Cannot load the payment of order "${orderId}": a ${row.status} payment has no PaymentIntent`,
    );
  }
  return row.payment_intent_id;
}
