/**
 * Applying events to sagas: the pure transition decides (`decideSagaEvent`, by the definition
 * the saga's type names in the registry), then the new states and data, their history lines,
 * the commands and any alerts are written together in the caller's transaction
 * (`persistDecisions`), so a crash leaves either all of them or none. Decisions are made in
 * memory and written in a few set-based statements, however many events a batch holds. Each
 * command goes to the topic the event catalogue gives its type (`encodeMessage`): a definition
 * names no topics.
 */
import { randomInt } from "node:crypto";
import type { TransactionSql } from "../db/mod.ts";
import { encodeMessage, type EventType, type WireRecord } from "../messages/mod.ts";
import { type OutboxRow, writeOutbox, type WriteOutboxOptions } from "../outbox/mod.ts";
import {
  type SagaEvent,
  type SagaPolicy,
  type SagaRegistry,
  type SagaState,
  type Transition,
  transition,
} from "../saga/mod.ts";
import { ORCHESTRATOR } from "../topology/mod.ts";
import {
  appendHistory,
  type HistoryEntry,
  lastHistoryIds,
  type SavedSaga,
  saveSagas,
  type StoredSaga,
} from "../orchestrator_store/mod.ts";

/** The orchestrator schema, home of the sagas and their outbox. */
export const ORCHESTRATOR_SCHEMA = ORCHESTRATOR.schema;

/** What happened, for the history line. */
export interface EventOrigin {
  /** The message or control event type, e.g. `PAYMENT_FAILED` or `DEADLINE_PASSED`. */
  eventType: EventType | string;
  /** The Kafka message's eventId, when the event came from one. */
  eventId: string | null;
  /** Who caused it: `orchestrator`, `sweeper`, or `operator:<user>`. */
  actor: string;
}

/** The outcome of applying an event: the state before and the transition made. */
export interface AppliedEvent {
  before: SagaState;
  transition: Transition<unknown, EventType>;
}

/** An event decided but not yet written: the transition, its history line and its records. */
export interface SagaDecision extends AppliedEvent {
  /** The saga as it is to be saved, with its definition's domain status. */
  saved: SavedSaga;
  history: Omit<HistoryEntry, "at">;
  records: WireRecord[];
}

/** What `decideSagaEvent` needs besides the saga. */
export interface DecideOptions {
  event: SagaEvent<EventType>;
  origin: EventOrigin;
  policy: SagaPolicy;
  /** The definitions, by saga type: the saga's type picks the one that decides. */
  sagas: SagaRegistry<EventType>;
  now?: Date;
}

/**
 * Runs `event` through the saga's definition; pure apart from the fresh command id and jitter
 * drawn.
 */
export function decideSagaEvent(saga: StoredSaga, options: DecideOptions): SagaDecision {
  const before = saga.state;
  const definition = options.sagas.byType(saga.type);
  const result = transition(before, options.event, {
    definition,
    data: saga.data,
    policy: options.policy,
    now: options.now ?? new Date(),
    commandId: crypto.randomUUID(),
    jitter: randomInt(-1_000_000, 1_000_001) / 1_000_000,
  });
  const { state } = result;
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
      body: { orderId: state.key, sagaId: state.sagaId, ...result.alert },
      sagaId: state.sagaId,
    }));
  }
  const history = {
    sagaId: state.sagaId,
    fromStatus: before.status,
    toStatus: state.status,
    step: result.step,
    eventType: options.origin.eventType,
    eventId: options.origin.eventId,
    outcome: result.outcome,
    actor: options.origin.actor,
    note: result.note,
  };
  const saved = { state, data: result.data, domainStatus: definition.domainStatus(state.status) };
  return { before, transition: result, saved, history, records };
}

/**
 * Writes decisions in order: each changed saga's latest state and data (and its order's
 * status), every
 * history line, every record to the outbox (returned, for the relay). The sagas must exist and
 * be locked by the caller.
 */
export async function persistDecisions(
  tx: TransactionSql,
  decisions: readonly SagaDecision[],
  outbox: WriteOutboxOptions = {},
): Promise<OutboxRow[]> {
  const latest = new Map<string, SavedSaga>();
  for (const { transition, saved } of decisions) {
    if (transition.outcome === "applied") latest.set(saved.state.sagaId, saved);
  }
  // Sent together (pipelined: one round trip), run by PostgreSQL one after the other.
  const [, , rows] = await Promise.all([
    saveSagas(tx, [...latest.values()]),
    appendHistory(tx, decisions.map((decision) => decision.history)),
    writeOutbox(tx, ORCHESTRATOR_SCHEMA, decisions.flatMap((d) => d.records), outbox),
  ]);
  return rows;
}

/** What `persistWithVersions` wrote and read. */
export interface VersionedWrite {
  /** The outbox rows written, for the relay. */
  outbox: OutboxRow[];
  /** The status version of each saga the decisions applied an event to, by saga id. */
  versions: Map<string, number>;
}

/**
 * Writes the decisions (`persistDecisions`) and reads each applied saga's status version, in
 * one round trip: the versions' select is sent in the same pipeline, after the writes.
 */
export async function persistWithVersions(
  tx: TransactionSql,
  decisions: readonly SagaDecision[],
  outbox: WriteOutboxOptions = {},
): Promise<VersionedWrite> {
  // postgres.js hands a transaction's statements to PostgreSQL in the order they are issued,
  // and PostgreSQL runs them in that order: the select, issued last, sees the history rows.
  const [rows, versions] = await Promise.all([
    persistDecisions(tx, decisions, outbox),
    statusVersions(tx, decisions),
  ]);
  return { outbox: rows, versions };
}

/**
 * The version of each saga's status after the transaction's transitions: its last history row
 * id, read in that transaction, after the saga rows were locked and the history written. For
 * one saga the ids grow in commit order (the next transaction waits for the lock, then inserts).
 */
function statusVersions(
  tx: TransactionSql,
  decisions: readonly AppliedEvent[],
): Promise<Map<string, number>> {
  const ids = [
    ...new Set(
      decisions.filter((d) => d.transition.outcome === "applied").map((d) =>
        d.transition.state.sagaId
      ),
    ),
  ];
  return lastHistoryIds(tx, ids);
}

/** Decides `event` for one locked saga and writes it: `decideSagaEvent` + `persistDecisions`. */
export async function applySagaEvent(
  tx: TransactionSql,
  saga: StoredSaga,
  options: DecideOptions,
): Promise<AppliedEvent> {
  const decision = decideSagaEvent(saga, options);
  await persistDecisions(tx, [decision]);
  return decision;
}
