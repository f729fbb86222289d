/**
 * Applying one event to one saga inside the caller's transaction: the pure transition decides,
 * then the new state, its history line, the commands and any alert are written together, so a
 * crash leaves either all of them or none.
 */
import { randomInt } from "node:crypto";
import type { TransactionSql } from "../db/mod.ts";
import { encodeMessage, type EventType, type OrderCreated } from "../messages/mod.ts";
import { writeOutbox } from "../outbox/mod.ts";
import {
  type SagaEvent,
  type SagaPolicy,
  type SagaState,
  type Transition,
  transition,
} from "../saga/mod.ts";
import { ORDER_SAGA } from "./definition.ts";
import { appendHistory, saveSaga } from "./store.ts";

/** The orchestrator schema, home of the sagas and their outbox. */
export const ORCHESTRATOR_SCHEMA = "orchestrator";

/** What happened, for the history line. */
export interface EventOrigin {
  /** The message or control event type, e.g. `PAYMENT_FAILED` or `STEP_TIMEOUT`. */
  eventType: EventType | string;
  /** The Kafka message's eventId, when the event came from one. */
  eventId: string | null;
  /** Who caused it: `orchestrator`, `sweeper`, or `operator:<user>`. */
  actor: string;
}

/** The outcome of applying an event: the state before and the transition made. */
export interface AppliedEvent {
  before: SagaState;
  transition: Transition;
}

/** Runs `event` through the order saga and persists everything it decided. */
export async function applySagaEvent(
  tx: TransactionSql,
  saga: { state: SagaState; order: OrderCreated },
  options: { event: SagaEvent; origin: EventOrigin; policy: SagaPolicy; now?: Date },
): Promise<AppliedEvent> {
  const before = saga.state;
  const result = transition(before, options.event, {
    definition: ORDER_SAGA,
    data: saga.order,
    policy: options.policy,
    now: options.now ?? new Date(),
    commandId: crypto.randomUUID(),
    jitter: randomInt(-1_000_000, 1_000_001) / 1_000_000,
  });
  const { state } = result;
  if (result.outcome === "applied") await saveSaga(tx, state);
  await appendHistory(tx, {
    sagaId: state.sagaId,
    fromStatus: before.status,
    toStatus: state.status,
    step: result.step,
    eventType: options.origin.eventType,
    eventId: options.origin.eventId,
    outcome: result.outcome,
    actor: options.origin.actor,
    note: result.note,
  });
  const records = result.commands.map((command) =>
    encodeMessage({
      eventType: command.eventType,
      body: command.body as never,
      sagaId: state.sagaId,
      eventId: command.eventId,
    })
  );
  if (result.alert !== null) {
    records.push(encodeMessage({
      eventType: "COMPENSATION_FAILED",
      body: { orderId: state.orderId, sagaId: state.sagaId, ...result.alert },
      sagaId: state.sagaId,
    }));
  }
  await writeOutbox(tx, ORCHESTRATOR_SCHEMA, records);
  return { before, transition: result };
}
