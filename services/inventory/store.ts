/**
 * The inventory service's SQL: loading a chunk's reservations and stock under row locks, and
 * writing the chunk's decisions, set-based; the stock is read and changed through lib/inventory,
 * the owner of the products' SQL.
 */
import type { TransactionSql } from "../../lib/db/mod.ts";
import { adjustStock, lockStock } from "../../lib/inventory/mod.ts";
import type { Message } from "../../lib/messages/mod.ts";
import {
  type InventoryState,
  type InventoryWrite,
  type Reservation,
  type ReservationLine,
  stockDeltas,
} from "./decide.ts";

/**
 * Locks and reads, in one round trip, what a chunk's commands need: the stock rows of the
 * products they reserve and of the reservations they release (first, in product id order, so
 * concurrent chunks cannot deadlock), then their orders' reservations with their lines.
 */
export async function loadInventory(
  tx: TransactionSql,
  messages: readonly Message[],
): Promise<InventoryState> {
  const productIds = messages.flatMap((m) =>
    m.eventType === "RESERVE_INVENTORY"
      ? (m as Message<"RESERVE_INVENTORY">).body.items.map((item) => item.productId)
      : []
  );
  const released = messages.filter((m) => m.eventType === "RELEASE_INVENTORY")
    .map((m) => m.metadata.orderId);
  const orderIds = [...new Set(messages.map((m) => m.metadata.orderId))];
  // Pipelined: one round trip, run in this order (the lines after their reservation's lock).
  const [stock, rows, lines] = await Promise.all([
    lockStock(tx, { productIds: [...new Set(productIds)], reservedBy: released }),
    tx<{ order_id: string; status: Reservation["status"] }[]>`
      select order_id, status from inventory.reservations
      where order_id = any(${orderIds}::uuid[]) order by order_id for update`,
    tx<({ order_id: string } & ReservationLine)[]>`
      select order_id, product_id as "productId", quantity from inventory.reservation_items
      where order_id = any(${orderIds}::uuid[]) order by order_id, product_id`,
  ]);
  const reservations = new Map<string, Reservation | null>(orderIds.map((id) => [id, null]));
  for (const { order_id, status } of rows) reservations.set(order_id, { status, lines: [] });
  for (const { order_id, productId, quantity } of lines) {
    reservations.get(order_id)?.lines.push({ productId, quantity });
  }
  return { reservations, stock };
}

/**
 * Writes a chunk's decisions in one round trip, one statement per kind of write: the new
 * reservations (and tombstones), their lines, the reservations released, and the net change of
 * each product's stock.
 */
export async function writeInventory(
  tx: TransactionSql,
  writes: readonly InventoryWrite[],
): Promise<void> {
  const created = writes.flatMap((w) =>
    w.kind === "release" ? [] : [{
      orderId: w.orderId,
      status: w.kind === "reserve" ? "RESERVED" : "RELEASED",
    }]
  );
  const lines = writes.flatMap((w) =>
    w.kind === "reserve" ? w.lines.map((line) => ({ orderId: w.orderId, ...line })) : []
  );
  const released = writes.flatMap((w) => (w.kind === "release" ? [w.orderId] : []));
  // Pipelined, run in this order: a reservation made and released in one chunk is inserted,
  // then released.
  await Promise.all([
    created.length === 0 ? undefined : tx`
      insert into inventory.reservations (order_id, status)
      select * from unnest(${created.map((r) => r.orderId)}::uuid[],
        ${created.map((r) => r.status)}::text[])`,
    lines.length === 0 ? undefined : tx`
      insert into inventory.reservation_items (order_id, product_id, quantity)
      select * from unnest(${lines.map((l) => l.orderId)}::uuid[],
        ${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.quantity)}::int[])`,
    released.length === 0 ? undefined : tx`
      update inventory.reservations set status = 'RELEASED', updated_at = now()
      where order_id = any(${released}::uuid[])`,
    adjustStock(tx, stockDeltas(writes)),
  ]);
}
