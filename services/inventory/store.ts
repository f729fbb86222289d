/**
 * The inventory service's SQL: loading and changing reservations under row locks; the stock
 * they take and give back is changed through lib/inventory, the owner of the products' SQL.
 */
import type { TransactionSql } from "../../lib/db/mod.ts";
import { adjustStock, lockProducts } from "../../lib/inventory/mod.ts";
import type { Message, ReserveInventory } from "../../lib/messages/mod.ts";
import type { Reservation, ReservationLine } from "./decide.ts";

/** The products' stock rows, locked in id order (the handler's `lockStock`). */
export { lockStock } from "../../lib/inventory/mod.ts";

/** The order's reservation, locked for the rest of the transaction; null when there is none. */
export async function lockReservation(
  tx: TransactionSql,
  orderId: string,
): Promise<Reservation | null> {
  // Pipelined: one round trip; the lines are read after the reservation is locked.
  const [[row], lines] = await Promise.all([
    tx<{ status: Reservation["status"] }[]>`
      select status from inventory.reservations where order_id = ${orderId} for update`,
    tx<ReservationLine[]>`
      select product_id as "productId", quantity from inventory.reservation_items
      where order_id = ${orderId} order by product_id`,
  ]);
  if (row === undefined) return null;
  return { status: row.status, lines: [...lines] };
}

/**
 * Locks, in product id order and in one statement, the stock rows a chunk of commands will touch:
 * the products to reserve and those of the reservations to release. Two chunks handled at the
 * same time then queue on their first shared product instead of deadlocking.
 */
export async function lockChunkStock(tx: TransactionSql, messages: readonly Message[]) {
  const toReserve = messages.filter((m) => m.eventType === "RESERVE_INVENTORY")
    .flatMap((m) => (m.body as ReserveInventory).items.map((item) => item.productId));
  const toRelease = messages.filter((m) => m.eventType === "RELEASE_INVENTORY")
    .map((m) => m.metadata.orderId);
  await lockProducts(tx, { productIds: toReserve, reservedBy: toRelease });
}

/** Takes the lines out of stock and records the reservation. */
export async function reserve(
  tx: TransactionSql,
  orderId: string,
  lines: readonly ReservationLine[],
) {
  // Sent together (pipelined): one round trip, run in this order.
  await Promise.all([
    adjustStock(tx, lines, -1),
    tx`insert into inventory.reservations (order_id, status) values (${orderId}, 'RESERVED')`,
    tx`insert into inventory.reservation_items ${
      tx(lines.map((l) => ({ order_id: orderId, product_id: l.productId, quantity: l.quantity })))
    }`,
  ]);
}

/** Puts a reservation's lines back into stock and marks it released. */
export async function release(
  tx: TransactionSql,
  orderId: string,
  lines: readonly ReservationLine[],
) {
  await Promise.all([
    adjustStock(tx, lines, +1),
    tx`update inventory.reservations set status = 'RELEASED', updated_at = now()
      where order_id = ${orderId}`,
  ]);
}

/** Records that the order was released before it was reserved: a later reservation fails. */
export async function writeTombstone(tx: TransactionSql, orderId: string) {
  await tx`insert into inventory.reservations (order_id, status) values (${orderId}, 'RELEASED')`;
}
