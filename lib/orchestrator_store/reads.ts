/**
 * Sagas as their readers see them (`sagactl`, the console, storefronts, admission control):
 * one read model of a saga row with its order's status (`SagaRecord`), lists, counts and the
 * figures of `sagactl stats`.
 */
import type { Sql } from "../db/mod.ts";
import { FINAL_STATUSES, type Phase, SAGA_STATUSES, type SagaStatus } from "../saga/mod.ts";

/** A saga row with its order's status: what every reader of sagas gets. */
export interface SagaRecord {
  sagaId: string;
  orderId: string;
  /** The saga type, e.g. `order`: the registry's key. */
  type: string;
  status: SagaStatus;
  /** The definition's domain status of the saga's order, e.g. `CONFIRMED`. */
  orderStatus: string;
  /** How many forward steps took effect. */
  completedSteps: number;
  /** Steps whose compensation is still owed, the next one first. */
  compensations: number[];
  /** The step of the awaited reply, and its phase; null when nothing is awaited. */
  pendingStep: number | null;
  pendingPhase: Phase | null;
  /** When the awaited reply is overdue. */
  deadlineAt: Date | null;
  /** Failed attempts of the compensation owed first. */
  retryCount: number;
  nextRetryAt: Date | null;
  failureStep: number | null;
  failureCode: string | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Filters of `listSagas`. */
export interface SagaFilter {
  statuses?: readonly SagaStatus[];
  since?: Date;
  limit: number;
  /** COMPENSATION_FAILED sagas (an operator is needed) before the others. */
  needsOperatorFirst?: boolean;
}

/** The figures of `sagactl stats` that come from the saga rows. */
export interface SagaStats {
  /** Every status, 0 when none. */
  byStatus: Record<SagaStatus, number>;
  /** The oldest saga not in a final status. */
  oldestInFlight: Pick<SagaRecord, "sagaId" | "orderId" | "status" | "createdAt"> | null;
  /** Compensation retries whose time has come. */
  dueForRetry: number;
  /** Compensation retries scheduled, due or not. */
  scheduledRetries: number;
  /** Sagas whose awaited reply is overdue. */
  overdueSteps: number;
}

/** Statuses of sagas in flight: not final. */
const OPEN_STATUSES = SAGA_STATUSES.filter((status) => !FINAL_STATUSES.has(status));

const RECORD_COLUMNS = `
  s.saga_id as "sagaId", s.order_id as "orderId", s.saga_type as "type", s.status,
  o.status as "orderStatus", s.completed_steps as "completedSteps", s.compensations,
  s.pending_step as "pendingStep", s.pending_phase as "pendingPhase", s.deadline_at as "deadlineAt",
  s.retry_count as "retryCount", s.next_retry_at as "nextRetryAt", s.failure_step as "failureStep",
  s.failure_code as "failureCode", s.failure_reason as "failureReason",
  s.created_at as "createdAt", s.updated_at as "updatedAt"`;

/** Sagas newest first, filtered. */
export async function listSagas(sql: Sql, filter: SagaFilter): Promise<SagaRecord[]> {
  const statuses = filter.statuses ?? [];
  const rows = await sql<SagaRecord[]>`
    select ${sql.unsafe(RECORD_COLUMNS)}
    from orchestrator.sagas s join orchestrator.orders o using (order_id)
    where (${statuses.length === 0} or s.status = any(${statuses as string[]}))
      and s.created_at >= ${filter.since ?? new Date(0)}
    order by ${
    filter.needsOperatorFirst ? sql`(s.status = 'COMPENSATION_FAILED') desc,` : sql``
  } s.created_at desc, s.saga_id
    limit ${filter.limit}`;
  return [...rows];
}

/** The saga with this saga id or order id; null when there is none (or not yet). */
export async function findSaga(sql: Sql, id: string): Promise<SagaRecord | null> {
  const [row] = await sql<SagaRecord[]>`
    select ${sql.unsafe(RECORD_COLUMNS)}
    from orchestrator.sagas s join orchestrator.orders o using (order_id)
    where s.saga_id = ${id} or s.order_id = ${id}
    limit 1`;
  return row ?? null;
}

/** Counts the sagas that are not in a final status. */
export async function countOpenSagas(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from orchestrator.sagas where status = any(${OPEN_STATUSES}::text[])`;
  return row?.n ?? 0;
}

/** Sagas by status, the oldest in flight, and the retries and deadlines due at `now`. */
export async function readSagaStats(sql: Sql, now: Date): Promise<SagaStats> {
  const counts = await sql<{ status: SagaStatus; n: number }[]>`
    select status, count(*)::int as n from orchestrator.sagas group by status`;
  const byStatus = Object.fromEntries(SAGA_STATUSES.map((s) => [s, 0])) as Record<
    SagaStatus,
    number
  >;
  for (const row of counts) byStatus[row.status] = row.n;
  const [oldest] = await sql<NonNullable<SagaStats["oldestInFlight"]>[]>`
    select saga_id as "sagaId", order_id as "orderId", status, created_at as "createdAt"
    from orchestrator.sagas
    where status = any(${OPEN_STATUSES}::text[])
    order by created_at limit 1`;
  const [due] = await sql<{ due: number; scheduled: number; overdue: number }[]>`
    select
      count(*) filter (where next_retry_at <= ${now})::int as due,
      count(*) filter (where next_retry_at is not null)::int as scheduled,
      count(*) filter (where deadline_at <= ${now})::int as overdue
    from orchestrator.sagas`;
  return {
    byStatus,
    oldestInFlight: oldest ?? null,
    dueForRetry: due?.due ?? 0,
    scheduledRetries: due?.scheduled ?? 0,
    overdueSteps: due?.overdue ?? 0,
  };
}
