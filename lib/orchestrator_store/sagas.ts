/**
 * Saga rows as the engine runs them: mapped to and from its `SagaState`, with the saga's type
 * and data; inserted, saved, locked and found due. The writes run on the caller's transaction.
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { keyHash } from "../kafka/partitioner.ts";
import type { SagaState, SagaStatus } from "../saga/mod.ts";
import { knownRoutes, type ReplyPartitioning } from "./reply_partitions.ts";

/** A saga row: its type (which definition runs it), its execution state and its data. */
export interface StoredSaga {
  /** The saga type, e.g. `order`: the registry's key. */
  type: string;
  state: SagaState;
  /** The saga's data, as its definition made and folded it (JSON). */
  data: unknown;
}

/** A saga to save: its new state and data, and the domain status that follows from them. */
export interface SavedSaga {
  state: SagaState;
  data: unknown;
  /** The definition's domain status, written to the order of the saga's key. */
  domainStatus: string;
}

interface SagaRow {
  saga_id: string;
  order_id: string;
  status: SagaStatus;
  completed_steps: number;
  compensations: number[];
  pending_step: number | null;
  pending_phase: "forward" | "compensation" | null;
  pending_command_id: string | null;
  deadline_at: Date | null;
  pending_first_sent_at: Date | null;
  pending_attempt: number | null;
  retry_count: number;
  next_retry_at: Date | null;
  failure_step: number | null;
  failure_code: string | null;
  failure_reason: string | null;
  data: unknown;
}

/** The saga state columns of `orchestrator.sagas` with their types, as `toRow` fills them. */
const STATE_COLUMNS = {
  status: "text",
  completed_steps: "int",
  compensations: "int[]",
  pending_step: "int",
  pending_phase: "text",
  pending_command_id: "uuid",
  deadline_at: "timestamptz",
  pending_first_sent_at: "timestamptz",
  pending_attempt: "int",
  retry_count: "int",
  next_retry_at: "timestamptz",
  failure_step: "int",
  failure_code: "text",
  failure_reason: "text",
  data: "jsonb",
};
const STATE_NAMES = Object.keys(STATE_COLUMNS).join(", ");
const STATE_DEFINITIONS = Object.entries(STATE_COLUMNS).map(([n, type]) => `${n} ${type}`)
  .join(", ");
const STATE_ASSIGNMENTS = Object.keys(STATE_COLUMNS).map((n) => `${n} = c.${n}`).join(", ");

/**
 * Inserts new saga rows, one per key: a saga whose key has one already is left out (a
 * duplicate start). Their orders must exist, or be inserted before in the transaction. Returns
 * the saga ids inserted.
 */
export async function insertSagas(
  tx: TransactionSql,
  sagas: readonly StoredSaga[],
): Promise<Set<string>> {
  if (sagas.length === 0) return new Set();
  const rows = sagas.map(({ type, state, data }) => ({
    ...toRow(state, data),
    saga_type: type,
    key_hash: keyHash(state.key),
  }));
  const inserted = await tx<{ saga_id: string }[]>`
    insert into orchestrator.sagas
      (saga_id, order_id, saga_type, key_hash, ${tx.unsafe(STATE_NAMES)})
    select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
      as r(saga_id uuid, order_id uuid, saga_type text, key_hash int,
        ${tx.unsafe(STATE_DEFINITIONS)})
    on conflict (order_id) do nothing
    returning saga_id`;
  return new Set(inserted.map((row) => row.saga_id));
}

/** Saves sagas' states and data, and the order statuses that follow, in one statement. */
export async function saveSagas(tx: TransactionSql, sagas: readonly SavedSaga[]): Promise<void> {
  if (sagas.length === 0) return;
  const rows = sagas.map(({ state, data, domainStatus }) => ({
    ...toRow(state, data),
    order_status: domainStatus,
  }));
  // The `= any(ids)` conditions give the planner the primary keys to probe: joined only with the
  // set-returning function (estimated at 100 rows), it hashes it and scans every saga and order.
  await tx`
    with changed as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as c(
        saga_id uuid, order_id uuid, ${tx.unsafe(STATE_DEFINITIONS)}, order_status text)
    ), saved as (
      update orchestrator.sagas s set ${tx.unsafe(STATE_ASSIGNMENTS)}, updated_at = now()
      from changed c
      where s.saga_id = c.saga_id and s.saga_id = any(${rows.map((r) => r.saga_id)}::uuid[])
    )
    update orchestrator.orders o set status = c.order_status, updated_at = now()
    from changed c
    where o.order_id = c.order_id and o.order_id = any(${rows.map((r) => r.order_id)}::uuid[])
      and o.status <> c.order_status`;
}

/** The saga, locked until the transaction ends; null when there is no such saga. */
export async function lockSaga(tx: TransactionSql, sagaId: string): Promise<StoredSaga | null> {
  return (await lockSagas(tx, [sagaId])).get(sagaId) ?? null;
}

/**
 * Sagas locked until the transaction ends (in saga id order, so concurrent callers cannot
 * deadlock), by saga id; ids without a saga are absent from the map.
 */
export async function lockSagas(
  tx: TransactionSql,
  sagaIds: readonly string[],
): Promise<Map<string, StoredSaga>> {
  return await selectSagas(tx, sagaIds, true);
}

/** Sagas as they are now, not locked (to preview a decision), by saga id. */
export async function readSagas(
  sql: Sql | TransactionSql,
  sagaIds: readonly string[],
): Promise<Map<string, StoredSaga>> {
  return await selectSagas(sql, sagaIds, false);
}

async function selectSagas(
  sql: Sql | TransactionSql,
  sagaIds: readonly string[],
  lock: boolean,
): Promise<Map<string, StoredSaga>> {
  if (sagaIds.length === 0) return new Map();
  const rows = await sql<(SagaRow & { saga_type: string })[]>`
    select s.* from orchestrator.sagas s
    where s.saga_id = any(${[...sagaIds]}::uuid[])
    order by s.saga_id
    ${lock ? sql`for update of s` : sql``}`;
  return new Map(
    rows.map((row) => [row.saga_id, { type: row.saga_type, state: fromRow(row), data: row.data }]),
  );
}

/**
 * Ids of sagas whose deadline or retry time has come, locked; others' locked rows are skipped.
 * With `replies`, a deadline has come only once the saga's reply partition was read after it
 * (see reply_partitions.ts); sagas without a key hash (started before migration 0009) and
 * calls without `replies` count every deadline.
 */
export async function lockDueSagas(
  tx: TransactionSql,
  now: Date,
  limit: number,
  replies?: ReplyPartitioning,
): Promise<string[]> {
  const routes = knownRoutes(replies ?? { routes: [], partitions: new Map() });
  const rows = await tx<{ saga_id: string }[]>`
    select s.saga_id from orchestrator.sagas s
    where s.next_retry_at <= ${now}
      or (s.deadline_at <= ${now} and (${replies === undefined}::boolean or s.key_hash is null
        or exists (
          select from unnest(${routes.types}::text[], ${routes.steps}::int[],
              ${routes.phases}::text[], ${routes.topics}::text[], ${routes.partitions}::int[])
              as r(saga_type, step, phase, topic, partitions)
            join orchestrator.reply_partitions p
              on p.topic = r.topic and p.partition = s.key_hash % r.partitions
          where r.saga_type = s.saga_type and r.step = s.pending_step
            and r.phase = s.pending_phase
            and p.read_at >= s.deadline_at)))
    order by least(s.deadline_at, s.next_retry_at)
    limit ${limit}
    for update of s skip locked`;
  return rows.map((row) => row.saga_id);
}

function toRow(state: SagaState, data: unknown): SagaRow {
  return {
    saga_id: state.sagaId,
    order_id: state.key,
    status: state.status,
    completed_steps: state.completedSteps,
    compensations: state.compensations,
    pending_step: state.pending?.step ?? null,
    pending_phase: state.pending?.phase ?? null,
    pending_command_id: state.pending?.commandId ?? null,
    deadline_at: state.pending?.deadlineAt ?? null,
    pending_first_sent_at: state.pending?.firstSentAt ?? null,
    pending_attempt: state.pending?.attempt ?? null,
    retry_count: state.retryCount,
    next_retry_at: state.nextRetryAt,
    failure_step: state.failure?.step ?? null,
    failure_code: state.failure?.code ?? null,
    failure_reason: state.failure?.reason ?? null,
    data,
  };
}

function fromRow(row: SagaRow): SagaState {
  const pending = row.pending_step === null || row.pending_phase === null ||
      row.pending_command_id === null || row.deadline_at === null
    ? null
    : {
      step: row.pending_step,
      phase: row.pending_phase,
      commandId: row.pending_command_id,
      deadlineAt: row.deadline_at,
      // Set on every row written since migration 0009; the deadline is a safe stand-in.
      firstSentAt: row.pending_first_sent_at ?? row.deadline_at,
      attempt: row.pending_attempt ?? 1,
    };
  const failure = row.failure_step === null
    ? null
    : { step: row.failure_step, code: row.failure_code ?? "", reason: row.failure_reason ?? "" };
  return {
    sagaId: row.saga_id,
    key: row.order_id,
    status: row.status,
    completedSteps: row.completed_steps,
    compensations: row.compensations,
    pending,
    retryCount: row.retry_count,
    nextRetryAt: row.next_retry_at,
    failure,
  };
}
