/**
 * The inventory service's decisions, pure: whether an order's items can be reserved (all or
 * none), and what a release undoes. The handler loads the rows, asks, and applies the answer.
 */

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
 * Decides a reservation given the order's existing reservation (if any) and the available
 * stock of the products it names (`undefined` for an unknown product).
 */
export function decideReserve(
  orderId: string,
  existing: Reservation | null,
  available: ReadonlyMap<string, number>,
  items: readonly ReservationLine[],
): ReserveDecision {
  if (existing?.status === "RESERVED") return { kind: "already-reserved" };
  if (existing?.status === "RELEASED") {
    return {
      kind: "refuse",
      code: "reservation_released",
      reason: `Cannot reserve stock for order "${orderId}": it was already released`,
    };
  }
  const lines = mergeLines(items);
  for (const { productId, quantity } of lines) {
    const left = available.get(productId);
    if (left === undefined) {
      return {
        kind: "refuse",
        code: "unknown_product",
        reason:
          `Cannot reserve stock for order "${orderId}": product "${productId}" does not exist`,
      };
    }
    if (left < quantity) {
      return {
        kind: "refuse",
        code: "insufficient_stock",
        reason:
          `Cannot reserve stock for order "${orderId}": product "${productId}" has ${left} left, ${quantity} wanted`,
      };
    }
  }
  return { kind: "reserve", lines };
}

/** Decides a release given the order's existing reservation (if any). */
export function decideRelease(existing: Reservation | null): ReleaseDecision {
  if (existing === null) return { kind: "tombstone" };
  if (existing.status === "RELEASED") return { kind: "already-released" };
  return { kind: "release", lines: existing.lines };
}
