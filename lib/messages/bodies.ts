/**
 * Zod schemas for every message body of DESIGN §3 (the record value, plain JSON). Ids are
 * accepted in any letter case and come out lower-cased, the one form every comparison, key, row
 * and cache entry sees; numbers are bounded by the contract's limits.
 */
import { z } from "zod";
import { LIMITS } from "./limits.ts";

/** A UUID in any letter case (RFC 4122), decoded to its canonical lower-case form. */
export const CanonicalUuid = z.uuid().toLowerCase();

const id = CanonicalUuid;
const { quantityPerLine, unitPriceCents: unitPrice } = LIMITS;
/** An amount of money in minor units, at most the largest order total. */
const cents = z.number().int().nonnegative().max(
  LIMITS.orderTotalCents,
  `over the limit of ${LIMITS.orderTotalCents} cents (the largest order total)`,
);
/** A positive amount of money in minor units, at most the largest order total. */
const positiveCents = cents.min(1);

/** One line of an order. */
export const OrderItem = z.object({
  productId: id,
  quantity: z.number().int()
    .min(quantityPerLine.min, `under the limit of ${quantityPerLine.min} unit per line`)
    .max(quantityPerLine.max, `over the limit of ${quantityPerLine.max} units per line`),
  unitPriceCents: z.number().int()
    .min(unitPrice.min, `under the limit of ${unitPrice.min} cent per unit`)
    .max(unitPrice.max, `over the limit of ${unitPrice.max} cents per unit`),
});
/** One line of an order. */
export type OrderItem = z.infer<typeof OrderItem>;

/** `ORDER_CREATED` on `orders`: starts a saga. */
export const OrderCreated = z.object({
  orderId: id,
  customerId: id,
  customerEmail: z.email(),
  currency: z.string().regex(/^[a-z]{3}$/, "must be a lowercase ISO 4217 code such as usd"),
  paymentMethod: z.string().min(1),
  items: z.array(OrderItem).min(1).max(
    LIMITS.linesPerOrder,
    `over the limit of ${LIMITS.linesPerOrder} lines per order`,
  ),
}).check((ctx) => {
  const total = orderTotalCents(ctx.value);
  if (total > LIMITS.orderTotalCents) {
    ctx.issues.push({
      code: "custom",
      path: ["items"],
      input: ctx.value.items,
      message:
        `the order total of ${total} cents is over the limit of ${LIMITS.orderTotalCents} cents`,
    });
  }
});
/** `ORDER_CREATED` body. */
export type OrderCreated = z.infer<typeof OrderCreated>;

/** Total of an order's lines in minor units (exact: inside the limits it stays below 2^53). */
export function orderTotalCents(order: Pick<OrderCreated, "items">): number {
  return order.items.reduce((sum, item) => sum + item.quantity * item.unitPriceCents, 0);
}

/** `RESERVE_INVENTORY`: reserve every item of the order at its catalog price, or none. */
export const ReserveInventory = z.object({
  orderId: id,
  // Each line at the price the customer was shown: inventory checks it against its catalog.
  items: OrderCreated.shape.items,
});
/** `RESERVE_INVENTORY` body. */
export type ReserveInventory = z.infer<typeof ReserveInventory>;

/** A command or reply that names only its order. */
export const OrderRef = z.object({ orderId: id });
/** Body of `RELEASE_INVENTORY`, `INVENTORY_RESERVED`, `INVENTORY_RELEASED`. */
export type OrderRef = z.infer<typeof OrderRef>;

/** `PROCESS_PAYMENT`: charge the order's total. */
export const ProcessPayment = z.object({
  orderId: id,
  customerId: id,
  amountCents: positiveCents,
  currency: OrderCreated.shape.currency,
  paymentMethod: z.string().min(1),
});
/** `PROCESS_PAYMENT` body. */
export type ProcessPayment = z.infer<typeof ProcessPayment>;

/** `REFUND_PAYMENT`: undo the order's charge, if there was one. */
export const RefundPayment = OrderRef;
/** `REFUND_PAYMENT` body. */
export type RefundPayment = OrderRef;

/** `SEND_NOTIFICATION`: tell the customer the order is confirmed. */
export const SendNotification = z.object({
  orderId: id,
  customerEmail: z.email(),
  currency: OrderCreated.shape.currency,
  totalCents: cents,
  items: OrderCreated.shape.items,
});
/** `SEND_NOTIFICATION` body. */
export type SendNotification = z.infer<typeof SendNotification>;

/** `PAYMENT_PROCESSED`: the charge succeeded. */
export const PaymentProcessed = z.object({
  orderId: id,
  paymentIntentId: z.string().min(1),
  amountCents: cents,
});
/** `PAYMENT_PROCESSED` body. */
export type PaymentProcessed = z.infer<typeof PaymentProcessed>;

/** `PAYMENT_REFUNDED`: the charge is undone (`amountCents` 0 when there was nothing to undo). */
export const PaymentRefunded = z.object({
  orderId: id,
  refundId: z.string().min(1).nullable(),
  amountCents: cents,
});
/** `PAYMENT_REFUNDED` body. */
export type PaymentRefunded = z.infer<typeof PaymentRefunded>;

/** `NOTIFICATION_SENT`: the confirmation was delivered. */
export const NotificationSent = z.object({ orderId: id, notificationId: id });
/** `NOTIFICATION_SENT` body. */
export type NotificationSent = z.infer<typeof NotificationSent>;

/** Every failure reply: `{ reason, code }` (DESIGN §3). */
export const FailureReply = z.object({
  orderId: id,
  reason: z.string().min(1),
  code: z.string().min(1),
});
/** A failure reply body. */
export type FailureReply = z.infer<typeof FailureReply>;

/** `COMPENSATION_FAILED` alert on `orders.dlq`: a compensation kept failing. */
export const CompensationFailedAlert = z.object({
  orderId: id,
  sagaId: id,
  step: z.string().min(1),
  attempts: z.number().int().positive(),
  reason: z.string(),
  code: z.string(),
});
/** `COMPENSATION_FAILED` alert body. */
export type CompensationFailedAlert = z.infer<typeof CompensationFailedAlert>;

/**
 * `OUTBOX_RECORD_REFUSED` alert on `orders.dlq`: Kafka refused a record of a service's outbox for
 * good (too large, invalid). The record is set aside in that outbox, where its value stays (it
 * is not in the alert: it may be what was too large); the rows behind it went on.
 */
export const OutboxRecordRefusedAlert = z.object({
  /** The record's order (the nil UUID when the record names none). */
  orderId: id,
  /** The schema whose outbox holds the record. */
  schema: z.string().min(1),
  /** The record's row in `<schema>.outbox`. */
  outboxId: z.string().regex(/^\d+$/, "must be an outbox row id"),
  /** The topic it was for. */
  topic: z.string().min(1),
  /** From its `metadata` header, when it has one. */
  eventType: z.string().min(1).nullable(),
  eventId: id.nullable(),
  /** Size of its value in bytes (UTF-8). */
  bytes: z.number().int().nonnegative(),
  /** Why Kafka refused it. */
  reason: z.string().min(1),
});
/** `OUTBOX_RECORD_REFUSED` alert body. */
export type OutboxRecordRefusedAlert = z.infer<typeof OutboxRecordRefusedAlert>;
