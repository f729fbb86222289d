/**
 * The orchestrator schema's SQL: orders with their items, saga rows (mapped to and from the
 * engine's `SagaState`) and the saga history. Every function runs on the caller's transaction.
 */
import type { Sql, TransactionSql } from "../db/mod.ts";
import type { OrderCreated } from "../messages/mod.ts";
import { orderStatusOf, type SagaState, type SagaStatus } from "../saga/mod.ts";
import { orderTotalCents } from "./definition.ts";

/** A saga row with the order it runs for. */
export interface StoredSaga {
  state: SagaState;
  order: OrderCreated;
}

/** One line of a saga's timeline. */
export interface HistoryEntry {
  sagaId: string;
  fromStatus: SagaStatus | null;
  toStatus: SagaStatus;
  step: string | null;
  eventType: string;
  eventId: string | null;
  outcome: "applied" | "ignored";
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
  retry_count: number;
  next_retry_at: Date | null;
  failure_step: number | null;
  failure_code: string | null;
  failure_reason: string | null;
}

/** Inserts the order and its items; false when the order exists already (a duplicate). */
export async function insertOrder(tx: TransactionSql, order: OrderCreated): Promise<boolean> {
  const inserted = await tx`
    insert into orchestrator.orders
      (order_id, customer_id, customer_email, currency, payment_method, total_cents)
    values (${order.orderId}, ${order.customerId}, ${order.customerEmail}, ${order.currency},
      ${order.paymentMethod}, ${orderTotalCents(order)})
    on conflict (order_id) do nothing
    returning order_id`;
  if (inserted.length === 0) return false;
  await tx`insert into orchestrator.order_items ${
    tx(order.items.map((item, index) => ({
      order_id: order.orderId,
      line_no: index + 1,
      product_id: item.productId,
      quantity: item.quantity,
      unit_price_cents: item.unitPriceCents,
    })))
  }`;
  return true;
}

/** Inserts a new saga row. */
export async function insertSaga(tx: TransactionSql, state: SagaState, sagaType: string) {
  await tx`insert into orchestrator.sagas ${tx({ ...toRow(state), saga_type: sagaType })}`;
}

/** Saves the saga's state and the order status that follows from it. */
export async function saveSaga(tx: TransactionSql, state: SagaState): Promise<void> {
  const { saga_id: _id, order_id: _order, ...row } = toRow(state);
  await tx`update orchestrator.sagas set ${tx(row)}, updated_at = now()
    where saga_id = ${state.sagaId}`;
  await tx`update orchestrator.orders set status = ${
    orderStatusOf(state.status)
  }, updated_at = now()
    where order_id = ${state.orderId} and status <> ${orderStatusOf(state.status)}`;
}

/** The saga and its order, locked until the transaction ends; null when there is no such saga. */
export async function lockSaga(tx: TransactionSql, sagaId: string): Promise<StoredSaga | null> {
  const [row] = await tx<SagaRow[]>`
    select * from orchestrator.sagas where saga_id = ${sagaId} for update`;
  if (row === undefined) return null;
  return { state: fromRow(row), order: await loadOrder(tx, row.order_id) };
}

/** Ids of sagas whose deadline or retry time has come, locked; others' locked rows are skipped. */
export async function lockDueSagas(
  tx: TransactionSql,
  now: Date,
  limit: number,
): Promise<string[]> {
  const rows = await tx<{ saga_id: string }[]>`
    select saga_id from orchestrator.sagas
    where deadline_at <= ${now} or next_retry_at <= ${now}
    order by least(deadline_at, next_retry_at)
    limit ${limit}
    for update skip locked`;
  return rows.map((row) => row.saga_id);
}

/** Appends one line to the saga's timeline. */
export async function appendHistory(tx: TransactionSql, entry: Omit<HistoryEntry, "at">) {
  await tx`insert into orchestrator.saga_history ${
    tx({
      saga_id: entry.sagaId,
      from_status: entry.fromStatus,
      to_status: entry.toStatus,
      step: entry.step,
      event_type: entry.eventType,
      event_id: entry.eventId,
      outcome: entry.outcome,
      actor: entry.actor,
      note: entry.note,
    })
  }`;
}

/** The saga's timeline, oldest first. */
export async function readHistory(
  sql: Sql | TransactionSql,
  sagaId: string,
): Promise<HistoryEntry[]> {
  const rows = await sql<HistoryEntry[]>`
    select saga_id as "sagaId", from_status as "fromStatus", to_status as "toStatus", step,
      event_type as "eventType", event_id as "eventId", outcome, actor, note, at
    from orchestrator.saga_history where saga_id = ${sagaId} order by id`;
  return [...rows];
}

async function loadOrder(tx: TransactionSql, orderId: string): Promise<OrderCreated> {
  const [order] = await tx<{
    customer_id: string;
    customer_email: string;
    currency: string;
    payment_method: string;
  }[]>`select customer_id, customer_email, currency, payment_method
    from orchestrator.orders where order_id = ${orderId}`;
  const items = await tx<OrderCreated["items"]>`
    select product_id as "productId", quantity, unit_price_cents as "unitPriceCents"
    from orchestrator.order_items where order_id = ${orderId} order by line_no`;
  if (order === undefined) {
    throw new RangeError(`Cannot load order "${orderId}": it does not exist`);
  }
  return {
    orderId,
    customerId: order.customer_id,
    customerEmail: order.customer_email,
    currency: order.currency,
    paymentMethod: order.payment_method,
    items: [...items],
  };
}

function toRow(state: SagaState): SagaRow {
  return {
    saga_id: state.sagaId,
    order_id: state.orderId,
    status: state.status,
    completed_steps: state.completedSteps,
    compensations: state.compensations,
    pending_step: state.pending?.step ?? null,
    pending_phase: state.pending?.phase ?? null,
    pending_command_id: state.pending?.commandId ?? null,
    deadline_at: state.pending?.deadlineAt ?? null,
    retry_count: state.retryCount,
    next_retry_at: state.nextRetryAt,
    failure_step: state.failure?.step ?? null,
    failure_code: state.failure?.code ?? null,
    failure_reason: state.failure?.reason ?? null,
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
    };
  const failure = row.failure_step === null
    ? null
    : { step: row.failure_step, code: row.failure_code ?? "", reason: row.failure_reason ?? "" };
  return {
    sagaId: row.saga_id,
    orderId: row.order_id,
    status: row.status,
    completedSteps: row.completed_steps,
    compensations: row.compensations,
    pending,
    retryCount: row.retry_count,
    nextRetryAt: row.next_retry_at,
    failure,
  };
}
