/**
 * The orchestrator schema's SQL, for the orchestrator and `sagactl` alike: orders with their
 * items, saga rows (mapped to and from the engine's `SagaState`, with the saga's data and type)
 * and the saga history. Every function runs on the caller's transaction.
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import { type OrderCreated, orderTotalCents } from "../messages/mod.ts";
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

/** Inserts orders, skipping those that exist already (duplicates); returns the ids inserted. */
export async function insertOrders(
  tx: TransactionSql,
  orders: readonly OrderCreated[],
): Promise<Set<string>> {
  if (orders.length === 0) return new Set();
  const rows = orders.map((order) => ({
    order_id: order.orderId,
    customer_id: order.customerId,
    customer_email: order.customerEmail,
    currency: order.currency,
    payment_method: order.paymentMethod,
    total_cents: orderTotalCents(order),
  }));
  const inserted = await tx<{ order_id: string }[]>`
    insert into orchestrator.orders
      (order_id, customer_id, customer_email, currency, payment_method, total_cents)
    select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as r(
      order_id uuid, customer_id uuid, customer_email text, currency text, payment_method text,
      total_cents bigint)
    on conflict (order_id) do nothing
    returning order_id`;
  return new Set(inserted.map((row) => row.order_id));
}

/** Inserts the items of orders just inserted. */
export async function insertOrderItems(
  tx: TransactionSql,
  orders: readonly OrderCreated[],
): Promise<void> {
  const items = orders.flatMap((order) =>
    order.items.map((item, index) => ({
      order_id: order.orderId,
      line_no: index + 1,
      product_id: item.productId,
      quantity: item.quantity,
      unit_price_cents: item.unitPriceCents,
    }))
  );
  if (items.length === 0) return;
  await tx`
    insert into orchestrator.order_items (order_id, line_no, product_id, quantity, unit_price_cents)
    select * from jsonb_to_recordset(${JSON.stringify(items)}::text::jsonb) as r(
      order_id uuid, line_no int, product_id uuid, quantity int, unit_price_cents int)`;
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
  await tx`
    with changed as (
      select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as c(
        saga_id uuid, order_id uuid, ${tx.unsafe(STATE_DEFINITIONS)}, order_status text)
    ), saved as (
      update orchestrator.sagas s set ${tx.unsafe(STATE_ASSIGNMENTS)}, updated_at = now()
      from changed c where s.saga_id = c.saga_id
    )
    update orchestrator.orders o set status = c.order_status, updated_at = now()
    from changed c where o.order_id = c.order_id and o.status <> c.order_status`;
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
