/**
 * The order confirmation, rendered purely from the `SEND_NOTIFICATION` command: a subject and a
 * plain-text body listing every item, the total in the order's currency and the full order id.
 */
import { formatMoney } from "../../lib/format/money.ts";
import type { SendNotification } from "../../lib/messages/mod.ts";

/** A rendered confirmation, ready for a delivery channel. */
export interface RenderedNotification {
  recipient: string;
  subject: string;
  text: string;
}

/** Renders the confirmation of an order. */
export function renderConfirmation(order: SendNotification): RenderedNotification {
  const money = (amount: number | bigint) => formatMoney(amount, order.currency);
  const lines = order.items.map((item) =>
    `  ${item.quantity} x product ${item.productId} at ${money(item.unitPriceCents)} each: ${
      money(BigInt(item.quantity) * BigInt(item.unitPriceCents))
    }`
  );
  const text = [
    "Hello,",
    "",
    "Thank you for your order. It is confirmed.",
    "",
    "Items:",
    ...lines,
    "",
    `Total: ${money(order.totalCents)}`,
    "",
    `Order id: ${order.orderId}`,
    "Please quote it if you write to us about this order.",
    "",
  ].join("\n");
  return {
    recipient: order.customerEmail,
    subject: `Order ${order.orderId.slice(0, 8)} confirmed`,
    text,
  };
}
