/**
 * The notification service's decisions, pure: whether a confirmation goes out, was sent
 * already, or cannot be delivered. The handler loads the order's notifications, asks, and acts.
 */

/**
 * A notification of the order as stored; `SENDING` is a delivery attempt whose outcome is not
 * recorded yet (DESIGN §5: atomic phases).
 */
export interface StoredNotification {
  notificationId: string;
  status: "SENDING" | "SENT" | "FAILED";
}

/** What to do with a `SEND_NOTIFICATION` command. */
export type SendDecision =
  | { kind: "send" }
  /** Deliver the recorded attempt again, as it was (the same message, the same Message-ID). */
  | { kind: "resume"; notificationId: string }
  | { kind: "already-sent"; notificationId: string }
  | { kind: "refuse"; code: string; reason: string };

/**
 * True when the address's domain is the reserved `.invalid` top-level domain (RFC 2606), which
 * can never receive mail: any letter case, with or without the trailing dot of an absolute name.
 */
export function isUndeliverableAddress(address: string): boolean {
  const domain = address.trim().slice(address.trim().lastIndexOf("@") + 1).toLowerCase()
    .replace(/\.$/, "");
  return domain === "invalid" || domain.endsWith(".invalid");
}

/**
 * Decides a confirmation for `recipient` given the order's stored notifications, oldest first:
 * one already sent answers again without sending (its id), an attempt left unanswered (a crash,
 * or a relay that refused for now) is delivered again, an undeliverable address is refused
 * without contacting any channel, anything else is sent (also after an earlier failure).
 */
export function decideSend(
  orderId: string,
  recipient: string,
  existing: readonly StoredNotification[],
): SendDecision {
  const sent = existing.find((notification) => notification.status === "SENT");
  if (sent !== undefined) return { kind: "already-sent", notificationId: sent.notificationId };
  const sending = existing.find((notification) => notification.status === "SENDING");
  if (sending !== undefined) return { kind: "resume", notificationId: sending.notificationId };
  if (isUndeliverableAddress(recipient)) {
    return {
      kind: "refuse",
      code: "undeliverable_address",
      reason:
        `Cannot send the confirmation of order "${orderId}": "${recipient}" is on the reserved .invalid domain`,
    };
  }
  return { kind: "send" };
}
