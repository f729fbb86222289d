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

/**
 * The order's notifications, oldest first, read while holding the order's advisory lock for the
 * rest of the transaction: two commands for one order (different event ids) cannot both see
 * "nothing sent yet" and both send.
 */
export async function lockNotifications(
  tx: TransactionSql,
  orderId: string,
): Promise<StoredNotification[]> {
  await tx`select pg_advisory_xact_lock(${LOCK_NAMESPACE}::int, hashtext(${orderId}))`;
  const rows = await tx<StoredNotification[]>`
    select notification_id as "notificationId", status from notification.notifications
    where order_id = ${orderId} order by created_at, notification_id`;
  return [...rows];
}

/** Records a notification and how its delivery went. */
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
