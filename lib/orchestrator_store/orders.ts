/** The orders the orchestrator stores with their items, written as sagas start and read back. */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { type OrderCreated, orderTotalCents } from "../messages/mod.ts";

/** An order as stored, with its items in line order. */
export interface OrderRecord {
  orderId: string;
  customerId: string;
  customerEmail: string;
  paymentMethod: string;
  currency: string;
  totalCents: number;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
}

/** Inserts orders, skipping those that exist already (duplicates); returns the ids inserted. */
export async function insertOrders(
  tx: TransactionSql,
  orders: readonly OrderCreated[],
): Promise<Set<string>> {
  if (orders.length === 0) return new Set();
  const rows = orders.map((order) => ({
    order_id: order.orderId,
    customer_id: order.customerId,
    customer_email: order.customerEmail,
    currency: order.currency,
    payment_method: order.paymentMethod,
    total_cents: orderTotalCents(order),
  }));
  const inserted = await tx<{ order_id: string }[]>`
    insert into orchestrator.orders
      (order_id, customer_id, customer_email, currency, payment_method, total_cents)
    select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(
      order_id uuid, customer_id uuid, customer_email text, currency text, payment_method text,
      total_cents bigint)
    on conflict (order_id) do nothing
    returning order_id`;
  return new Set(inserted.map((row) => row.order_id));
}

/** Inserts the items of orders just inserted. */
export async function insertOrderItems(
  tx: TransactionSql,
  orders: readonly OrderCreated[],
): Promise<void> {
  const items = orders.flatMap((order) =>
    order.items.map((item, index) => ({
      order_id: order.orderId,
      line_no: index + 1,
      product_id: item.productId,
      quantity: item.quantity,
      unit_price_cents: item.unitPriceCents,
    }))
  );
  if (items.length === 0) return;
  await tx`
    insert into orchestrator.order_items (order_id, line_no, product_id, quantity, unit_price_cents)
    select * from jsonb_to_recordset(${JSON.stringify(items)}::text::jsonb) as r(
      order_id uuid, line_no int, product_id uuid, quantity int, unit_price_cents int)`;
}

/** The order and its items; null when there is no such order. */
export async function readOrder(sql: Sql, orderId: string): Promise<OrderRecord | null> {
  const [order] = await sql<Omit<OrderRecord, "items">[]>`
    select order_id as "orderId", customer_id as "customerId", customer_email as "customerEmail",
      payment_method as "paymentMethod", currency, total_cents::int as "totalCents"
    from orchestrator.orders where order_id = ${orderId}`;
  if (order === undefined) return null;
  const items = await sql<OrderRecord["items"]>`
    select product_id as "productId", quantity, unit_price_cents as "unitPriceCents"
    from orchestrator.order_items where order_id = ${orderId} order by line_no`;
  return { ...order, items: [...items] };
}
