/**
 * The inventory service's decisions, pure: whether an order's items can be reserved (all or
 * none, each at the catalog's price), and what a release undoes; and the same for a chunk of
 * commands, each decided against the state the ones before it left. The handlers load the rows,
 * ask, and write the answers.
 */
import type { StockRow } from "../../lib/inventory/mod.ts";

/** A reservation as stored; `RELEASED` with no lines is a tombstone. */
export interface Reservation {
  status: "RESERVED" | "RELEASED";
  lines: ReservationLine[];
}

/** Quantity of one product in a reservation. */
export interface ReservationLine {
  productId: string;
  quantity: number;
}

/** One line of a `RESERVE_INVENTORY` command: a quantity at the unit price the customer was shown. */
export interface OrderedLine extends ReservationLine {
  unitPriceCents: number;
}

/** What to do with a `RESERVE_INVENTORY` command. */
export type ReserveDecision =
  | { kind: "reserve"; lines: ReservationLine[] }
  | { kind: "already-reserved" }
  | { kind: "refuse"; code: string; reason: string };

/** What to do with a `RELEASE_INVENTORY` command. */
export type ReleaseDecision =
  | { kind: "release"; lines: ReservationLine[] }
  | { kind: "tombstone" }
  | { kind: "already-released" };

/** Adds up the quantities of repeated products, in product id order (the lock order). */
export function mergeLines(items: readonly ReservationLine[]): ReservationLine[] {
  const totals = new Map<string, number>();
  for (const { productId, quantity } of items) {
    totals.set(productId, (totals.get(productId) ?? 0) + quantity);
  }
  return [...totals].map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => a.productId.localeCompare(b.productId));
}

/**
 * Decides a reservation given the order's existing reservation (if any) and the catalog rows of
 * the products it names (absent for an unknown product). Every line must name a known product at
 * its catalog price (DESIGN §3: prices belong to inventory), and every product must have enough
 * stock for all its lines; otherwise nothing is reserved.
 */
export function decideReserve(
  orderId: string,
  existing: Reservation | null,
  stock: ReadonlyMap<string, StockRow>,
  items: readonly OrderedLine[],
): ReserveDecision {
  if (existing?.status === "RESERVED") return { kind: "already-reserved" };
  if (existing?.status === "RELEASED") {
    return refuse(orderId, "reservation_released", "it was already released");
  }
  const unknown = items.find((item) => !stock.has(item.productId));
  if (unknown !== undefined) {
    return refuse(
      orderId,
      "unknown_product",
      `product "${unknown.productId}" does not exist`,
    );
  }
  const mispriced = items.filter((item) =>
    item.unitPriceCents !== stock.get(item.productId)!.priceCents
  );
  if (mispriced.length > 0) {
    const [first] = mispriced as [OrderedLine];
    const { sku, priceCents } = stock.get(first.productId)!;
    const more = mispriced.length - 1;
    return refuse(
      orderId,
      "price_mismatch",
      `product ${sku} ("${first.productId}") was ordered at ${
        cents(first.unitPriceCents)
      } a unit, the catalog price is ${cents(priceCents)}${
        more > 0
          ? ` (and ${more} more line${more === 1 ? "" : "s"} at a price the catalog does not hold)`
          : ""
      }`,
    );
  }
  const lines = mergeLines(items);
  for (const { productId, quantity } of lines) {
    const left = stock.get(productId)!.available;
    if (left < quantity) {
      return refuse(
        orderId,
        "insufficient_stock",
        `product "${productId}" has ${left} left, ${quantity} wanted`,
      );
    }
  }
  return { kind: "reserve", lines };
}

function cents(amount: number): string {
  return `${amount} cent${amount === 1 ? "" : "s"}`;
}

function refuse(orderId: string, code: string, why: string): ReserveDecision {
  return { kind: "refuse", code, reason: `Cannot reserve stock for order "${orderId}": ${why}` };
}

/** Decides a release given the order's existing reservation (if any). */
export function decideRelease(existing: Reservation | null): ReleaseDecision {
  if (existing === null) return { kind: "tombstone" };
  if (existing.status === "RELEASED") return { kind: "already-released" };
  return { kind: "release", lines: existing.lines };
}

/**
 * What a chunk's commands are decided from: the reservations of its orders and the stock of its
 * products, as loaded under lock and then as the chunk's commands before have left them.
 */
export interface InventoryState {
  /** By order id; null when the order has no reservation. */
  reservations: ReadonlyMap<string, Reservation | null>;
  /** By product id; a product absent is unknown. */
  stock: ReadonlyMap<string, StockRow>;
}

/** A change a command makes, written with the chunk's others, set-based. */
export type InventoryWrite =
  | { kind: "reserve"; orderId: string; lines: ReservationLine[] }
  | { kind: "release"; orderId: string; lines: ReservationLine[] }
  | { kind: "tombstone"; orderId: string };

/** A decision taken against the chunk's state: the state after it, and what it writes. */
export interface Applied<D> {
  decision: D;
  state: InventoryState;
  writes: InventoryWrite[];
}

/** `decideReserve` against the chunk's state; a reservation takes its lines out of the stock. */
export function reserveIn(
  state: InventoryState,
  orderId: string,
  items: readonly OrderedLine[],
): Applied<ReserveDecision> {
  const decision = decideReserve(
    orderId,
    state.reservations.get(orderId) ?? null,
    state.stock,
    items,
  );
  if (decision.kind !== "reserve") return { decision, state, writes: [] };
  const { lines } = decision;
  return {
    decision,
    state: {
      reservations: withEntry(state.reservations, orderId, { status: "RESERVED", lines }),
      stock: adjusted(state.stock, lines, -1),
    },
    writes: [{ kind: "reserve", orderId, lines }],
  };
}

/** `decideRelease` against the chunk's state; a release puts its lines back into the stock. */
export function releaseIn(state: InventoryState, orderId: string): Applied<ReleaseDecision> {
  const decision = decideRelease(state.reservations.get(orderId) ?? null);
  switch (decision.kind) {
    case "already-released":
      return { decision, state, writes: [] };
    case "tombstone":
      return {
        decision,
        state: {
          ...state,
          reservations: withEntry(state.reservations, orderId, { status: "RELEASED", lines: [] }),
        },
        writes: [{ kind: "tombstone", orderId }],
      };
    case "release":
      return {
        decision,
        state: {
          reservations: withEntry(state.reservations, orderId, {
            status: "RELEASED",
            lines: decision.lines,
          }),
          stock: adjusted(state.stock, decision.lines, +1),
        },
        writes: [{ kind: "release", orderId, lines: decision.lines }],
      };
  }
}

/**
 * The net change of each product's available stock over a chunk's writes (product ids as
 * PostgreSQL writes them, lower case), leaving out products whose changes cancel out.
 */
export function stockDeltas(writes: readonly InventoryWrite[]): Map<string, number> {
  const deltas = new Map<string, number>();
  for (const write of writes) {
    if (write.kind === "tombstone") continue;
    const sign = write.kind === "reserve" ? -1 : 1;
    for (const { productId, quantity } of write.lines) {
      const key = productId.toLowerCase();
      deltas.set(key, (deltas.get(key) ?? 0) + sign * quantity);
    }
  }
  for (const [productId, delta] of deltas) if (delta === 0) deltas.delete(productId);
  return deltas;
}

function withEntry<K, V>(map: ReadonlyMap<K, V>, key: K, value: V): Map<K, V> {
  return new Map(map).set(key, value);
}

function adjusted(
  stock: ReadonlyMap<string, StockRow>,
  lines: readonly ReservationLine[],
  sign: 1 | -1,
): Map<string, StockRow> {
  const next = new Map(stock);
  for (const { productId, quantity } of lines) {
    const row = next.get(productId);
    if (row !== undefined) {
      next.set(productId, { ...row, available: row.available + sign * quantity });
    }
  }
  return next;
}
