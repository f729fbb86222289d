/** The notification service's SQL: the order's notifications, read under a per-order lock. */
import type { TransactionSql } from "../../lib/db/mod.ts";
import type { StoredNotification } from "./decide.ts";

// First key of the transaction-scoped advisory lock taken per order (the second is the order id
// hashed): "notf" in ASCII, so it does not collide with other users of two-key advisory locks.
const LOCK_NAMESPACE = 0x6e6f7466;

/** A notification row as it is written. */
export interface NotificationRecord {
  notificationId: string;
  orderId: string;
  recipient: string;
  subject: string;
  body: string;
  channel: string;
  status: StoredNotification["status"];
  failureReason: string | null;
}

/** A stored notification with the message it records. */
export interface NotificationRow extends StoredNotification {
  recipient: string;
  subject: string;
  body: string;
}

/**
 * The order's notifications, oldest first, read while holding the order's advisory lock for the
 * rest of the transaction: two commands for one order (different event ids) cannot both see
 * "nothing sent yet" and both record an attempt.
 */
export async function lockNotifications(
  tx: TransactionSql,
  orderId: string,
): Promise<NotificationRow[]> {
  await tx`select pg_advisory_xact_lock(${LOCK_NAMESPACE}::int, hashtext(${orderId}))`;
  const rows = await tx<NotificationRow[]>`
    select notification_id as "notificationId", status, recipient, subject, body
    from notification.notifications
    where order_id = ${orderId} order by created_at, notification_id`;
  return [...rows];
}

/** Records a notification: a delivery attempt (`SENDING`) or a refusal without one (`FAILED`). */
export async function recordNotification(tx: TransactionSql, record: NotificationRecord) {
  await tx`insert into notification.notifications ${
    tx({
      notification_id: record.notificationId,
      order_id: record.orderId,
      recipient: record.recipient,
      subject: record.subject,
      body: record.body,
      channel: record.channel,
      status: record.status,
      failure_reason: record.failureReason,
    })
  }`;
}

/**
 * Records how the delivery attempt `notificationId` went. False when it is no longer an attempt
 * (its outcome recorded already).
 */
export async function recordDelivery(
  tx: TransactionSql,
  outcome: { notificationId: string; status: "SENT" | "FAILED"; failureReason: string | null },
): Promise<boolean> {
  const rows = await tx`update notification.notifications
    set status = ${outcome.status}, failure_reason = ${outcome.failureReason}, updated_at = now()
    where notification_id = ${outcome.notificationId} and status = 'SENDING'
    returning notification_id`;
  return rows.length > 0;
}
