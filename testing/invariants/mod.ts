/**
 * The invariants of DESIGN §5, checked from the outside after the system settled: stock is
 * conserved, money matches outcomes (counted from the payment provider's own records), every
 * saga is final or visibly due, every outbox is drained and, when the dead letters are given,
 * each of them is one the caller injected or an alert it must expect (`COMPENSATION_FAILED`,
 * `OUTBOX_RECORD_REFUSED`). A row Kafka refused for good and the relay set aside is not pending
 * (nothing will publish it), but it is no success either: it is reported on its own.
 */
import type { Sql } from "../../lib/db/mod.ts";
import { DLQ_HEADERS } from "../../lib/kafka/dlq.ts";
import { FINAL_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { SCHEMAS } from "../../lib/topology/mod.ts";

/** Money per order as the payment provider recorded it (e.g. the Stripe test server's ledger). */
export interface LedgerEntry {
  chargedCents: number;
  refundedCents: number;
  charges: number;
}

/** A record read back from `orders.dlq`: its key and headers (strings) are all the check needs. */
export interface DeadLetter {
  key: string | null;
  headers: Readonly<Record<string, string>>;
  partition?: number;
  offset?: string;
}

/** The dead letters to check, and how to recognise the ones the caller put there on purpose. */
export interface DeadLetterExpectations {
  /** Every record of `orders.dlq` (of the caller's namespace). */
  records: readonly DeadLetter[];
  /** Keys (order ids) of the records the caller injected to be dead-lettered, e.g. poison. */
  injectedKeys?: ReadonlySet<string>;
  /** A header the caller set on each injected record; dead letters keep the original headers. */
  injectedHeader?: string;
}

/** Options of {@linkcode checkInvariants}. */
export interface InvariantOptions {
  /** Also check `orders.dlq`: no dead letter that nobody expected, an alert per failed saga. */
  deadLetters?: DeadLetterExpectations;
}

/** What the checker found. */
export interface InvariantReport {
  violations: string[];
  sagas: Partial<Record<SagaStatus, number>>;
  products: number;
  /** Outbox rows still to publish (set-aside rows are not). */
  unpublishedOutbox: number;
  /** Outbox rows Kafka refused for good, set aside by their relay (each one a violation too). */
  setAsideOutbox: number;
  /** Dead letters checked, by kind (absent when none were given). */
  deadLetters?: { injected: number; alerts: number; unexpected: number };
}

/**
 * Checks every invariant; `ledger` maps order ids to the provider's numbers (null when there is
 * no provider ledger to read, e.g. real Stripe: money is then not checked).
 */
export async function checkInvariants(
  sql: Sql,
  ledger: Readonly<Record<string, LedgerEntry>> | null,
  options: InvariantOptions = {},
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

  if (ledger !== null) {
    const known = new Set(sagas.map((saga) => saga.order_id));
    for (const [orderId, money] of Object.entries(ledger)) {
      if (known.has(orderId) || (money.charges === 0 && money.chargedCents === 0)) continue;
      violations.push(
        `Order ${orderId} has no saga but was charged ${money.chargedCents} (refunded ${money.refundedCents})`,
      );
    }
  }

  let unpublishedOutbox = 0;
  let setAsideOutbox = 0;
  for (const schema of SCHEMAS) {
    const [row] = await sql<{ pending: number; set_aside: number; reason: string | null }[]>`
      select count(*) filter (where set_aside_at is null)::int as pending,
        count(*) filter (where set_aside_at is not null)::int as set_aside,
        min(set_aside_reason) as reason
      from ${sql(`${schema}.outbox`)} where published_at is null`;
    const pending = row?.pending ?? 0;
    const setAside = row?.set_aside ?? 0;
    if (pending > 0) violations.push(`${pending} ${schema} outbox record(s) unpublished`);
    if (setAside > 0) {
      violations.push(
        `${setAside} ${schema} outbox record(s) set aside: ${row?.reason}`,
      );
    }
    unpublishedOutbox += pending;
    setAsideOutbox += setAside;
  }
  const report: InvariantReport = {
    violations,
    sagas: counts,
    products: stock.length,
    unpublishedOutbox,
    setAsideOutbox,
  };
  if (options.deadLetters !== undefined) {
    report.deadLetters = await checkDeadLetters(sql, options.deadLetters, violations);
  }
  return report;
}

/**
 * Each dead letter must be one the caller injected (by key or marker header); each other record
 * of `orders.dlq` must be a `COMPENSATION_FAILED` alert of a saga that reached that status, or an
 * `OUTBOX_RECORD_REFUSED` alert about the order of a set-aside outbox row; and each saga in
 * `COMPENSATION_FAILED` and each set-aside row must have raised its alert.
 */
async function checkDeadLetters(
  sql: Sql,
  expected: DeadLetterExpectations,
  violations: string[],
): Promise<NonNullable<InvariantReport["deadLetters"]>> {
  const failedOnce = new Set(
    (await sql<{ saga_id: string }[]>`
      select distinct saga_id from orchestrator.saga_history
      where to_status = 'COMPENSATION_FAILED'`).map((row) => row.saga_id),
  );
  const alerted = new Set<string>();
  const setAside = await setAsideOrders(sql);
  const refusalAlerted = new Set<string>();
  const counts = { injected: 0, alerts: 0, unexpected: 0 };
  for (const record of expected.records) {
    const where = `orders.dlq ${record.partition ?? "?"}@${
      record.offset ?? "?"
    } (key ${record.key})`;
    const injected = (record.key !== null && expected.injectedKeys?.has(record.key)) ||
      (expected.injectedHeader !== undefined &&
        record.headers[expected.injectedHeader] !== undefined);
    const reason = record.headers[DLQ_HEADERS.error];
    if (injected) {
      counts.injected++;
      if (reason === undefined || reason === "") {
        violations.push(`Injected record at ${where} carries no ${DLQ_HEADERS.error} reason`);
      }
      continue;
    }
    if (reason !== undefined) {
      counts.unexpected++;
      violations.push(
        `Unexpected dead letter at ${where} from ${
          record.headers[DLQ_HEADERS.sourceTopic]
        }: ${reason}`,
      );
      continue;
    }
    const metadata = parseMetadata(record.headers.metadata);
    if (metadata?.eventType === "COMPENSATION_FAILED" && failedOnce.has(metadata.sagaId ?? "")) {
      counts.alerts++;
      alerted.add(metadata.sagaId!);
      continue;
    }
    const orderId = metadata?.orderId?.toLowerCase() ?? "";
    if (metadata?.eventType === "OUTBOX_RECORD_REFUSED" && setAside.has(orderId)) {
      counts.alerts++;
      refusalAlerted.add(orderId);
      continue;
    }
    counts.unexpected++;
    violations.push(
      `Unexpected record at ${where}: ${
        metadata?.eventType ?? "no metadata"
      } for saga ${metadata?.sagaId}`,
    );
  }
  const failedNow = await sql<{ saga_id: string; order_id: string }[]>`
    select saga_id, order_id from orchestrator.sagas where status = 'COMPENSATION_FAILED'`;
  for (const saga of failedNow) {
    if (!alerted.has(saga.saga_id)) {
      violations.push(
        `Saga of order ${saga.order_id} is COMPENSATION_FAILED but raised no alert on orders.dlq`,
      );
    }
  }
  for (const [orderId, where] of setAside) {
    if (!refusalAlerted.has(orderId)) {
      violations.push(
        `${where} is set aside but raised no OUTBOX_RECORD_REFUSED alert on orders.dlq`,
      );
    }
  }
  return counts;
}

/** The order of each set-aside outbox row (its metadata's, else its key), with where the row is. */
async function setAsideOrders(sql: Sql): Promise<Map<string, string>> {
  const orders = new Map<string, string>();
  for (const schema of SCHEMAS) {
    const rows = await sql<{ id: string; key: string | null; metadata: string | null }[]>`
      select id, key, headers->>'metadata' as metadata from ${sql(`${schema}.outbox`)}
      where set_aside_at is not null`;
    for (const row of rows) {
      const orderId = parseMetadata(row.metadata ?? undefined)?.orderId ?? row.key ?? "";
      orders.set(orderId.toLowerCase(), `Outbox row ${row.id} of ${schema}`);
    }
  }
  return orders;
}

function parseMetadata(
  header: string | undefined,
): { eventType?: string; sagaId?: string; orderId?: string } | null {
  if (header === undefined) return null;
  try {
    const value: unknown = JSON.parse(header);
    return typeof value === "object" && value !== null ? value : null;
  } catch {
    return null;
  }
}
