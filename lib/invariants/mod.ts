/**
 * The invariants of DESIGN §5, checked from the outside after the system settled: stock is
 * conserved, money matches outcomes (counted from the payment provider's own records), every
 * saga is final or visibly due, and every outbox is drained.
 */
import type { Sql } from "../db/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../saga/mod.ts";

/** Money per order as the payment provider recorded it (e.g. the Stripe test server's ledger). */
export interface LedgerEntry {
  chargedCents: number;
  refundedCents: number;
  charges: number;
}

/** What the checker found. */
export interface InvariantReport {
  violations: string[];
  sagas: Partial<Record<SagaStatus, number>>;
  products: number;
  unpublishedOutbox: number;
}

const SCHEMAS = ["orchestrator", "inventory", "payment", "notification"] as const;

/**
 * Checks every invariant; `ledger` maps order ids to the provider's numbers (null when there is
 * no provider ledger to read, e.g. real Stripe: money is then not checked).
 */
export async function checkInvariants(
  sql: Sql,
  ledger: Readonly<Record<string, LedgerEntry>> | null,
): Promise<InvariantReport> {
  const violations: string[] = [];

  const stock = await sql<
    { product_id: string; available: number; reserved: number; total: number }[]
  >`
    select p.product_id, p.available, p.total_stock as total,
      coalesce(sum(i.quantity) filter (where r.status = 'RESERVED'), 0)::int as reserved
    from inventory.products p
    left join inventory.reservation_items i using (product_id)
    left join inventory.reservations r using (order_id)
    group by p.product_id`;
  for (const p of stock) {
    if (p.available + p.reserved !== p.total) {
      violations.push(
        `Stock of product ${p.product_id} is not conserved: ${p.available} available + ${p.reserved} reserved ≠ ${p.total}`,
      );
    }
  }

  const sagas = await sql<
    { order_id: string; status: SagaStatus; order_status: string; total: number; due: boolean }[]
  >`
    select s.order_id, s.status, o.status as order_status, o.total_cents::int as total,
      (s.deadline_at is not null or s.next_retry_at is not null) as due
    from orchestrator.sagas s join orchestrator.orders o using (order_id)`;
  const counts: InvariantReport["sagas"] = {};
  for (const saga of sagas) {
    counts[saga.status] = (counts[saga.status] ?? 0) + 1;
    if (!FINAL_STATUSES.has(saga.status) && !saga.due) {
      violations.push(`Saga of order ${saga.order_id} is ${saga.status} with nothing due`);
    }
    if (ledger === null) continue;
    const money = ledger[saga.order_id] ?? { chargedCents: 0, refundedCents: 0, charges: 0 };
    if (money.charges > 1) {
      violations.push(`Order ${saga.order_id} was charged ${money.charges} times`);
    }
    const net = money.chargedCents - money.refundedCents;
    const settled = saga.order_status === "CONFIRMED" || saga.order_status === "CANCELLED";
    const expected = saga.order_status === "CONFIRMED" ? saga.total : 0;
    if (settled && net !== expected) {
      violations.push(
        `Order ${saga.order_id} is ${saga.order_status} but is charged ${net} net (expected ${expected})`,
      );
    }
  }

  let unpublishedOutbox = 0;
  for (const schema of SCHEMAS) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from ${sql(`${schema}.outbox`)} where published_at is null`;
    if ((row?.n ?? 0) > 0) violations.push(`${row?.n} ${schema} outbox record(s) unpublished`);
    unpublishedOutbox += row?.n ?? 0;
  }
  return { violations, sagas: counts, products: stock.length, unpublishedOutbox };
}
