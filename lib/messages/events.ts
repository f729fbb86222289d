/** The event catalogue: every event type, the topic it travels on and the schema of its body. */
import type { z } from "zod";
import * as bodies from "./bodies.ts";
import { type Topic, TOPICS } from "./topics.ts";

/** Each event type of DESIGN §3 with its topic and body schema. */
export const EVENTS = {
  ORDER_CREATED: { topic: TOPICS.orders, body: bodies.OrderCreated },
  RESERVE_INVENTORY: { topic: TOPICS.inventoryCommands, body: bodies.ReserveInventory },
  RELEASE_INVENTORY: { topic: TOPICS.inventoryCommands, body: bodies.OrderRef },
  PROCESS_PAYMENT: { topic: TOPICS.paymentCommands, body: bodies.ProcessPayment },
  REFUND_PAYMENT: { topic: TOPICS.paymentCommands, body: bodies.RefundPayment },
  SEND_NOTIFICATION: { topic: TOPICS.notificationCommands, body: bodies.SendNotification },
  INVENTORY_RESERVED: { topic: TOPICS.inventoryReplies, body: bodies.OrderRef },
  INVENTORY_RESERVATION_FAILED: { topic: TOPICS.inventoryReplies, body: bodies.FailureReply },
  INVENTORY_RELEASED: { topic: TOPICS.inventoryReplies, body: bodies.OrderRef },
  INVENTORY_RELEASE_FAILED: { topic: TOPICS.inventoryReplies, body: bodies.FailureReply },
  PAYMENT_PROCESSED: { topic: TOPICS.paymentReplies, body: bodies.PaymentProcessed },
  PAYMENT_FAILED: { topic: TOPICS.paymentReplies, body: bodies.FailureReply },
  PAYMENT_REFUNDED: { topic: TOPICS.paymentReplies, body: bodies.PaymentRefunded },
  REFUND_FAILED: { topic: TOPICS.paymentReplies, body: bodies.FailureReply },
  NOTIFICATION_SENT: { topic: TOPICS.notificationReplies, body: bodies.NotificationSent },
  NOTIFICATION_FAILED: { topic: TOPICS.notificationReplies, body: bodies.FailureReply },
  COMPENSATION_FAILED: { topic: TOPICS.ordersDlq, body: bodies.CompensationFailedAlert },
  OUTBOX_RECORD_REFUSED: { topic: TOPICS.ordersDlq, body: bodies.OutboxRecordRefusedAlert },
} as const satisfies Record<string, { topic: Topic; body: z.ZodType }>;

/** Every event type name. */
export type EventType = keyof typeof EVENTS;

/** The body type of an event type. */
export type BodyOf<T extends EventType> = z.infer<typeof EVENTS[T]["body"]>;

/** True when `value` names an event type of the catalogue. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && Object.hasOwn(EVENTS, value);
}
