/**
 * The order saga of DESIGN §4, as data. `ORDER_CREATED` starts it, keyed by the order id. Top
 * to bottom: reserve stock, charge the card (what was charged is folded into the saga's data),
 * tell the customer what was charged. A failing step rolls back the ones before it, newest
 * first. The order's own status follows the saga's (`orderStatusOf`).
 */
import {
  type EventType,
  type OrderCreated,
  orderTotalCents,
  PaymentProcessed,
} from "../messages/mod.ts";
import type { SagaDefinition, SagaStatus } from "../saga/mod.ts";

/** What the order saga knows: the order, and once paid, the charge. */
export interface OrderSagaData {
  order: OrderCreated;
  /** What `PAYMENT_PROCESSED` said was charged; null until then. */
  charge: { paymentIntentId: string; amountCents: number } | null;
}

/** The order status that follows a saga status (DESIGN §4). */
export function orderStatusOf(status: SagaStatus): "PENDING" | "CONFIRMED" | "CANCELLED" {
  if (status === "COMPLETED") return "CONFIRMED";
  if (status === "COMPENSATED" || status === "FAILED" || status === "CANCELLED") return "CANCELLED";
  return "PENDING";
}

/** The order saga: ReserveInventory → ProcessPayment → SendNotification. */
export const ORDER_SAGA: SagaDefinition<OrderSagaData, OrderCreated, EventType> = {
  name: "order",
  start: {
    eventType: "ORDER_CREATED",
    key: (order) => order.orderId,
    data: (order) => ({ order, charge: null }),
  },
  steps: [
    {
      name: "ReserveInventory",
      command: {
        eventType: "RESERVE_INVENTORY",
        body: ({ order }) => ({
          orderId: order.orderId,
          // The prices go along: inventory refuses a line its catalog does not price so.
          items: order.items.map(({ productId, quantity, unitPriceCents }) => ({
            productId,
            quantity,
            unitPriceCents,
          })),
        }),
      },
      replies: { success: "INVENTORY_RESERVED", failure: "INVENTORY_RESERVATION_FAILED" },
      compensation: {
        name: "ReleaseInventory",
        command: {
          eventType: "RELEASE_INVENTORY",
          body: ({ order }) => ({ orderId: order.orderId }),
        },
        replies: { success: "INVENTORY_RELEASED", failure: "INVENTORY_RELEASE_FAILED" },
      },
    },
    {
      name: "ProcessPayment",
      command: {
        eventType: "PROCESS_PAYMENT",
        body: ({ order }) => ({
          orderId: order.orderId,
          customerId: order.customerId,
          amountCents: orderTotalCents(order),
          currency: order.currency,
          paymentMethod: order.paymentMethod,
        }),
      },
      replies: {
        success: "PAYMENT_PROCESSED",
        failure: "PAYMENT_FAILED",
        fold: (data, body) => {
          const { paymentIntentId, amountCents } = PaymentProcessed.parse(body);
          return { ...data, charge: { paymentIntentId, amountCents } };
        },
      },
      compensation: {
        name: "RefundPayment",
        command: {
          eventType: "REFUND_PAYMENT",
          body: ({ order }) => ({ orderId: order.orderId }),
        },
        replies: { success: "PAYMENT_REFUNDED", failure: "REFUND_FAILED" },
      },
    },
    {
      name: "SendNotification",
      command: {
        eventType: "SEND_NOTIFICATION",
        body: ({ order, charge }) => ({
          orderId: order.orderId,
          customerEmail: order.customerEmail,
          currency: order.currency,
          // What was charged, as the payment reported it (sagas paid before the charge was kept
          // in their data: the order's total, which is what they were charged).
          totalCents: charge?.amountCents ?? orderTotalCents(order),
          items: order.items,
        }),
      },
      replies: { success: "NOTIFICATION_SENT", failure: "NOTIFICATION_FAILED" },
    },
  ],
  domainStatus: orderStatusOf,
};
