/** Saga timelines (`orchestrator.saga_history`): one line per event applied or ignored. */
import type { Sql, TransactionSql } from "../db/mod.ts";
import type { SagaStatus } from "../saga/mod.ts";

/** One line of a saga's timeline. */
export interface HistoryEntry {
  sagaId: string;
  fromStatus: SagaStatus | null;
  toStatus: SagaStatus;
  step: string | null;
  eventType: string;
  eventId: string | null;
  /** `ignored` for late, duplicate or unexpected events, which change nothing. */
  outcome: "applied" | "ignored";
  /** `orchestrator`, `sweeper` or `operator:<user>`. */
  actor: string;
  note: string;
  at: Date;
}

/** Appends lines to sagas' timelines, in the given order. */
export async function appendHistory(
  tx: TransactionSql,
  entries: readonly Omit<HistoryEntry, "at">[],
): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((entry) => ({
    saga_id: entry.sagaId,
    from_status: entry.fromStatus,
    to_status: entry.toStatus,
    step: entry.step,
    event_type: entry.eventType,
    event_id: entry.eventId,
    outcome: entry.outcome,
    actor: entry.actor,
    note: entry.note,
  }));
  await tx`
    insert into orchestrator.saga_history
      (saga_id, from_status, to_status, step, event_type, event_id, outcome, actor, note)
    select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(
      saga_id uuid, from_status text, to_status text, step text, event_type text, event_id uuid,
      outcome text, actor text, note text)`;
}

/** How many lines the saga's timeline has. */
export async function countHistory(sql: Sql | TransactionSql, sagaId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from orchestrator.saga_history where saga_id = ${sagaId}`;
  return row?.n ?? 0;
}

/** The saga's timeline, oldest first; `after` skips that many lines. */
export async function readHistory(
  sql: Sql | TransactionSql,
  sagaId: string,
  after = 0,
): Promise<HistoryEntry[]> {
  const rows = await sql<HistoryEntry[]>`
    select saga_id as "sagaId", from_status as "fromStatus", to_status as "toStatus", step,
      event_type as "eventType", event_id as "eventId", outcome, actor, note, at
    from orchestrator.saga_history where saga_id = ${sagaId} order by id offset ${after}`;
  return [...rows];
}

/** The id of each saga's last timeline line, by saga id: it grows with every line written. */
export async function lastHistoryIds(
  sql: Sql | TransactionSql,
  sagaIds: readonly string[],
): Promise<Map<string, number>> {
  if (sagaIds.length === 0) return new Map();
  const rows = await sql<{ saga_id: string; version: number }[]>`
    select s.saga_id::text as saga_id,
      (select max(h.id) from orchestrator.saga_history h where h.saga_id = s.saga_id)::float8
        as version
    from unnest(${[...sagaIds]}::uuid[]) as s(saga_id)`;
  return new Map(rows.map((row) => [row.saga_id, row.version]));
}
