/**
 * The read side of `sagactl saga` and `order create --wait`: sagas and their timelines, read
 * through lib/orchestrator_store, as the stable JSON shapes sagactl prints (`SagaJson`,
 * `TimelineJson`).
 */
import type { Sql } from "../lib/db/mod.ts";
import { formatMoney } from "../lib/format/money.ts";
import { ORCHESTRATOR_SAGAS } from "../lib/order_saga/mod.ts";
import * as store from "../lib/orchestrator_store/mod.ts";
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
export type TimelineJson = Omit<store.HistoryEntry, "sagaId" | "at"> & { at: string };

/** The order a saga runs for, as `saga show --json` prints it. */
export type OrderJson = store.OrderRecord;

/** Sagas newest first, filtered. */
export async function listSagas(sql: Sql, filter: store.SagaFilter): Promise<SagaJson[]> {
  return (await store.listSagas(sql, filter)).map(toSagaJson);
}

/** The saga with this saga id or order id, or null. */
export async function findSaga(sql: Sql, id: string): Promise<SagaJson | null> {
  const saga = await store.findSaga(sql, id);
  return saga === null ? null : toSagaJson(saga);
}

/** The saga's timeline, oldest first; `after` skips that many lines. */
export async function readTimeline(sql: Sql, sagaId: string, after = 0): Promise<TimelineJson[]> {
  return (await store.readHistory(sql, sagaId, after)).map(({ sagaId: _saga, at, ...line }) => ({
    ...line,
    at: at.toISOString(),
  }));
}

/** Whether a status is final: nothing more happens without an operator. */
export function isFinal(status: SagaStatus): boolean {
  return FINAL_STATUSES.has(status);
}

function toSagaJson(saga: store.SagaRecord): SagaJson {
  // Named by the definition of the saga's type (one sagactl does not know: "step N").
  const steps = ORCHESTRATOR_SAGAS.definitions.find((d) => d.name === saga.type)?.steps ?? [];
  const compensationName = (step: number) => steps[step]?.compensation?.name ?? `step ${step}`;
  let step: string | null = null;
  let phase: SagaJson["phase"] = null;
  if (saga.pendingStep !== null && saga.pendingPhase !== null) {
    phase = saga.pendingPhase;
    step = phase === "compensation"
      ? compensationName(saga.pendingStep)
      : steps[saga.pendingStep]?.name ?? `step ${saga.pendingStep}`;
  } else if (saga.compensations.length > 0 && !isSettled(saga.status)) {
    phase = "compensation";
    step = compensationName(saga.compensations[0]!);
  } else if (!isFinal(saga.status)) {
    phase = "forward";
    step = steps[saga.completedSteps]?.name ?? null;
  }
  return {
    sagaId: saga.sagaId,
    orderId: saga.orderId,
    type: saga.type,
    status: saga.status,
    orderStatus: saga.orderStatus,
    step,
    phase,
    completedSteps: saga.completedSteps,
    pendingCompensations: saga.compensations.map(compensationName),
    retryCount: saga.retryCount,
    nextRetryAt: isoOrNull(saga.nextRetryAt),
    deadlineAt: isoOrNull(saga.deadlineAt),
    failure: saga.failureStep === null ? null : {
      step: steps[saga.failureStep]?.name ?? `step ${saga.failureStep}`,
      code: saga.failureCode ?? "",
      reason: saga.failureReason ?? "",
    },
    createdAt: saga.createdAt.toISOString(),
    updatedAt: saga.updatedAt.toISOString(),
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
