/** The inventory service's SQL: loading and changing reservations and stock, under row locks. */
import type { TransactionSql } from "../../lib/db/mod.ts";
import type { Message, ReserveInventory } from "../../lib/messages/mod.ts";
import type { Reservation, ReservationLine, StockRow } from "./decide.ts";

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
 * The catalog rows (SKU, available stock, price) of the products, locked in id order (so
 * concurrent orders cannot deadlock).
 */
export async function lockStock(
  tx: TransactionSql,
  productIds: readonly string[],
): Promise<Map<string, StockRow>> {
  if (productIds.length === 0) return new Map();
  const rows = await tx<({ product_id: string } & StockRow)[]>`
    select product_id, sku, available, price_cents as "priceCents" from inventory.products
    where product_id = any(${productIds}::uuid[]) order by product_id for update`;
  return new Map(
    rows.map(({ product_id, sku, available, priceCents }) => [
      product_id,
      { sku, available, priceCents },
    ]),
  );
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
  if (toReserve.length === 0 && toRelease.length === 0) return;
  await tx`
    select product_id from inventory.products
    where product_id = any(${toReserve}::uuid[])
      or product_id in (select product_id from inventory.reservation_items
        where order_id = any(${toRelease}::uuid[]))
    order by product_id for update`;
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

/**
 * Adds `sign` × quantity to the available stock of every line's product, in one statement. It
 * locks the rows first, in product id order as `lockStock` does: a reservation already holds
 * them by then, but a release takes them here, and whatever order the join visits the rows in,
 * it hands the update a product only after `locked` has locked it, so no deadlock with a
 * concurrent reservation. Lines of one product add up (the update applies one row per product).
 */
async function adjustStock(tx: TransactionSql, lines: readonly ReservationLine[], sign: 1 | -1) {
  if (lines.length === 0) return;
  const deltas = new Map<string, number>();
  for (const { productId, quantity } of lines) {
    const key = productId.toLowerCase(); // as PostgreSQL writes a uuid
    deltas.set(key, (deltas.get(key) ?? 0) + sign * quantity);
  }
  const productIds = [...deltas.keys()];
  await tx`
    with locked as materialized (
      select product_id from inventory.products
      where product_id = any(${productIds}::uuid[])
      order by product_id
      for update
    )
    update inventory.products p
    set available = p.available + d.delta, updated_at = now()
    from locked
    join unnest(${productIds}::uuid[], ${[...deltas.values()]}::int[]) as d (product_id, delta)
      using (product_id)
    where p.product_id = locked.product_id`;
}
