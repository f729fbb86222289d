/**
 * The read side of `sagactl saga` and `order create --wait`: sagas and their timelines from the
 * orchestrator schema, as the stable JSON shapes sagactl prints (`SagaJson`, `TimelineJson`).
 */
import type { Sql } from "../lib/db/mod.ts";
import { formatMoney } from "../lib/format/money.ts";
import { type HistoryEntry, ORCHESTRATOR_SAGAS, readHistory } from "../lib/order_saga/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../lib/saga/mod.ts";
import {
  COLOURS,
  formatAgo,
  formatClock,
  formatDuration,
  formatTimestamp,
  isoOrNull,
  NONE,
  type Printer,
  statusColour,
} from "./output.ts";

/** A saga as `saga list --json` and `saga show --json` print it. */
export interface SagaJson {
  sagaId: string;
  orderId: string;
  /** The saga type: its definition's name (`order`). */
  type: string;
  status: SagaStatus;
  /** `PENDING`, `CONFIRMED` or `CANCELLED`. */
  orderStatus: string;
  /** The step being run or undone (or to undo next); null once the saga is done. */
  step: string | null;
  phase: "forward" | "compensation" | null;
  /** How many forward steps took effect. */
  completedSteps: number;
  /** Compensations still owed, the next one first. */
  pendingCompensations: string[];
  /** Failed attempts of the compensation at the head of `pendingCompensations`. */
  retryCount: number;
  nextRetryAt: string | null;
  /** When the awaited reply is overdue. */
  deadlineAt: string | null;
  failure: { step: string; code: string; reason: string } | null;
  createdAt: string;
  updatedAt: string;
}

/** One line of a saga's timeline, as `saga show --json` prints it (oldest first). */
export type TimelineJson = Omit<HistoryEntry, "sagaId" | "at"> & { at: string };

/** The order a saga runs for, as `saga show --json` prints it. */
export interface OrderJson {
  orderId: string;
  customerId: string;
  customerEmail: string;
  paymentMethod: string;
  currency: string;
  totalCents: number;
  items: { productId: string; quantity: number; unitPriceCents: number }[];
}

interface SagaRow {
  saga_id: string;
  order_id: string;
  saga_type: string;
  status: SagaStatus;
  order_status: string;
  completed_steps: number;
  compensations: number[];
  pending_step: number | null;
  pending_phase: "forward" | "compensation" | null;
  deadline_at: Date | null;
  retry_count: number;
  next_retry_at: Date | null;
  failure_step: number | null;
  failure_code: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Filters of `saga list`. */
export interface SagaFilter {
  statuses?: readonly SagaStatus[];
  since?: Date;
  limit: number;
  /** COMPENSATION_FAILED sagas (an operator is needed) before the others. */
  needsOperatorFirst?: boolean;
}

/** Sagas newest first, filtered. */
export async function listSagas(sql: Sql, filter: SagaFilter): Promise<SagaJson[]> {
  const statuses = filter.statuses ?? [];
  const rows = await sql<SagaRow[]>`
    select s.*, o.status as order_status
    from orchestrator.sagas s join orchestrator.orders o using (order_id)
    where (${statuses.length === 0} or s.status = any(${statuses as string[]}))
      and s.created_at >= ${filter.since ?? new Date(0)}
    order by ${
    filter.needsOperatorFirst ? sql`(s.status = 'COMPENSATION_FAILED') desc,` : sql``
  } s.created_at desc, s.saga_id
    limit ${filter.limit}`;
  return rows.map(toSagaJson);
}

/** The saga with this saga id or order id, or null. */
export async function findSaga(sql: Sql, id: string): Promise<SagaJson | null> {
  const [row] = await sql<SagaRow[]>`
    select s.*, o.status as order_status
    from orchestrator.sagas s join orchestrator.orders o using (order_id)
    where s.saga_id = ${id} or s.order_id = ${id}
    limit 1`;
  return row === undefined ? null : toSagaJson(row);
}

/** The order and its items. */
export async function readOrder(sql: Sql, orderId: string): Promise<OrderJson | null> {
  const [order] = await sql<Omit<OrderJson, "items">[]>`
    select order_id as "orderId", customer_id as "customerId", customer_email as "customerEmail",
      payment_method as "paymentMethod", currency, total_cents::int as "totalCents"
    from orchestrator.orders where order_id = ${orderId}`;
  if (order === undefined) return null;
  const items = await sql<OrderJson["items"]>`
    select product_id as "productId", quantity, unit_price_cents as "unitPriceCents"
    from orchestrator.order_items where order_id = ${orderId} order by line_no`;
  return { ...order, items: [...items] };
}

/** The saga's timeline, oldest first; `after` skips that many lines. */
export async function readTimeline(sql: Sql, sagaId: string, after = 0): Promise<TimelineJson[]> {
  return (await readHistory(sql, sagaId, after)).map(({ sagaId: _saga, at, ...line }) => ({
    ...line,
    at: at.toISOString(),
  }));
}

/** Whether a status is final: nothing more happens without an operator. */
export function isFinal(status: SagaStatus): boolean {
  return FINAL_STATUSES.has(status);
}

function toSagaJson(row: SagaRow): SagaJson {
  // Named by the definition of the saga's type (one sagactl does not know: "step N").
  const steps = ORCHESTRATOR_SAGAS.definitions.find((d) => d.name === row.saga_type)?.steps ?? [];
  const compensationName = (step: number) => steps[step]?.compensation?.name ?? `step ${step}`;
  let step: string | null = null;
  let phase: SagaJson["phase"] = null;
  if (row.pending_step !== null && row.pending_phase !== null) {
    phase = row.pending_phase;
    step = phase === "compensation"
      ? compensationName(row.pending_step)
      : steps[row.pending_step]?.name ?? `step ${row.pending_step}`;
  } else if (row.compensations.length > 0 && !isSettled(row.status)) {
    phase = "compensation";
    step = compensationName(row.compensations[0]!);
  } else if (!isFinal(row.status)) {
    phase = "forward";
    step = steps[row.completed_steps]?.name ?? null;
  }
  return {
    sagaId: row.saga_id,
    orderId: row.order_id,
    type: row.saga_type,
    status: row.status,
    orderStatus: row.order_status,
    step,
    phase,
    completedSteps: row.completed_steps,
    pendingCompensations: row.compensations.map(compensationName),
    retryCount: row.retry_count,
    nextRetryAt: isoOrNull(row.next_retry_at),
    deadlineAt: isoOrNull(row.deadline_at),
    failure: row.failure_step === null ? null : {
      step: steps[row.failure_step]?.name ?? `step ${row.failure_step}`,
      code: row.failure_code ?? "",
      reason: row.failure_reason ?? "",
    },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Final statuses other than COMPENSATION_FAILED, where nothing is owed any more. */
function isSettled(status: SagaStatus): boolean {
  return isFinal(status) && status !== "COMPENSATION_FAILED";
}

/** What `saga show --json` prints. */
export interface SagaShowJson {
  saga: SagaJson;
  order: OrderJson | null;
  timeline: TimelineJson[];
}

/** The saga with this saga id or order id; throws naming the id when there is none. */
export async function requireSaga(sql: Sql, id: string): Promise<SagaJson> {
  const saga = await findSaga(sql, id);
  if (saga === null) throw new Error(`No saga has saga id or order id ${id}`);
  return saga;
}

/** Prints a saga, its order and its timeline for humans. */
export function printSaga(
  print: Printer,
  view: SagaShowJson,
  options: { now: Date; products: Map<string, string> },
): void {
  const { saga, order, timeline } = view;
  const label = (text: string) => print.paint(text.padEnd(9), COLOURS.bold);
  const ago = (iso: string) =>
    `${formatTimestamp(new Date(iso))} (${formatAgo(new Date(iso), options.now)})`;
  print.line(`${label("Saga")}${saga.sagaId}  (${saga.type} saga)`);
  print.line(`${label("Order")}${saga.orderId}  ${saga.orderStatus}`);
  print.line(`${label("Status")}${print.paint(saga.status, statusColour(saga.status))}`);
  const owed = saga.pendingCompensations.slice(saga.phase === "compensation" ? 1 : 0);
  const step = saga.step === null
    ? NONE
    : `${saga.step} (${saga.phase})${owed.length > 0 ? `, then ${owed.join(", then ")}` : ""}`;
  print.line(`${label("Step")}${step}`);
  print.line(
    `${label("Retries")}${saga.retryCount} failed attempt(s); next retry ${
      saga.nextRetryAt === null ? NONE : ago(saga.nextRetryAt)
    }${saga.deadlineAt === null ? "" : `; reply due ${ago(saga.deadlineAt)}`}`,
  );
  if (saga.failure !== null) {
    print.line(
      `${
        label("Failure")
      }${saga.failure.step} failed (${saga.failure.code}): ${saga.failure.reason}`,
    );
  }
  if (order !== null) {
    const lines = order.items.map((item) =>
      `${item.quantity} × ${options.products.get(item.productId) ?? item.productId} @ ${
        formatMoney(item.unitPriceCents, order.currency)
      }`
    );
    print.line(
      `${label("Items")}${lines.join(", ")} = ${formatMoney(order.totalCents, order.currency)}`,
    );
    print.line(`${label("Customer")}${order.customerEmail} · ${order.paymentMethod}`);
  }
  print.line(`${label("Created")}${ago(saga.createdAt)}`);
  print.line(`${label("Updated")}${ago(saga.updatedAt)}`);
  print.line();
  print.line(print.paint("Timeline", COLOURS.bold));
  const start = Date.parse(timeline[0]?.at ?? saga.createdAt);
  print.table(
    ["TIME (UTC)", "+ELAPSED", "EVENT", "ACTOR", "TRANSITION", "STEP", "NOTE"],
    timeline.map((line) => {
      const ignored = line.outcome === "ignored";
      const transition = line.fromStatus === line.toStatus
        ? line.toStatus
        : `${line.fromStatus ?? NONE} → ${line.toStatus}`;
      return [
        formatClock(new Date(line.at)),
        `+${formatDuration(Date.parse(line.at) - start)}`,
        line.eventType,
        line.actor,
        ignored ? { text: "(ignored)", colour: COLOURS.dim } : {
          text: transition,
          colour: statusColour(line.toStatus),
        },
        line.step ?? NONE,
        ignored ? { text: line.note, colour: COLOURS.dim } : line.note,
      ];
    }),
  );
  if (saga.status === "COMPENSATION_FAILED") {
    print.line();
    print.line(
      print.paint(
        `Operator needed: fix the cause, then run: sagactl saga retry ${saga.sagaId} --wait`,
        COLOURS.yellow,
      ),
    );
  }
}
