/**
 * The order saga of DESIGN §4, as data. Top to bottom: reserve stock, charge the card, tell the
 * customer. A failing step rolls back the ones before it, newest first.
 */
import { type OrderCreated, orderTotalCents, TOPICS } from "../messages/mod.ts";
import type { SagaDefinition } from "../saga/mod.ts";

/** The order saga: ReserveInventory → ProcessPayment → SendNotification. */
export const ORDER_SAGA: SagaDefinition<OrderCreated> = {
  name: "order",
  steps: [
    {
      name: "ReserveInventory",
      command: {
        eventType: "RESERVE_INVENTORY",
        topic: TOPICS.inventoryCommands,
        body: (order) => ({
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
          topic: TOPICS.inventoryCommands,
          body: (order) => ({ orderId: order.orderId }),
        },
        replies: { success: "INVENTORY_RELEASED", failure: "INVENTORY_RELEASE_FAILED" },
      },
    },
    {
      name: "ProcessPayment",
      command: {
        eventType: "PROCESS_PAYMENT",
        topic: TOPICS.paymentCommands,
        body: (order) => ({
          orderId: order.orderId,
          customerId: order.customerId,
          amountCents: orderTotalCents(order),
          currency: order.currency,
          paymentMethod: order.paymentMethod,
        }),
      },
      replies: { success: "PAYMENT_PROCESSED", failure: "PAYMENT_FAILED" },
      compensation: {
        name: "RefundPayment",
        command: {
          eventType: "REFUND_PAYMENT",
          topic: TOPICS.paymentCommands,
          body: (order) => ({ orderId: order.orderId }),
        },
        replies: { success: "PAYMENT_REFUNDED", failure: "REFUND_FAILED" },
      },
    },
    {
      name: "SendNotification",
      command: {
        eventType: "SEND_NOTIFICATION",
        topic: TOPICS.notificationCommands,
        body: (order) => ({
          orderId: order.orderId,
          customerEmail: order.customerEmail,
          currency: order.currency,
          totalCents: orderTotalCents(order),
          items: order.items,
        }),
      },
      replies: { success: "NOTIFICATION_SENT", failure: "NOTIFICATION_FAILED" },
    },
  ],
};
