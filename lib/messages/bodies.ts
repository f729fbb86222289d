/** Zod schemas for every message body of DESIGN §3 (the record value, plain JSON). */
import { z } from "zod";

const id = z.uuid();
const cents = z.number().int().nonnegative();

/** One line of an order. */
export const OrderItem = z.object({
  productId: id,
  quantity: z.number().int().positive(),
  unitPriceCents: z.number().int().positive(),
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
  items: z.array(OrderItem).min(1),
});
/** `ORDER_CREATED` body. */
export type OrderCreated = z.infer<typeof OrderCreated>;

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
  amountCents: z.number().int().positive(),
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
  items: z.array(OrderItem).min(1),
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
