/**
 * A saga definition is a value: the event that starts it, then an ordered list of steps, each
 * with its command, the replies that end it, and the compensation that undoes it. Reading it top
 * to bottom gives the happy path; reading the compensations bottom to top gives the rollback
 * path. The engine knows no domain: event names are the type parameter `E`, the saga's data `D`
 * is the definition's own, and its statuses map to the domain's through `domainStatus`.
 */
import type { SagaStatus } from "./state.ts";

/** A command a step sends, built from the saga's data; where it travels is the catalogue's fact. */
export interface CommandDefinition<D, E extends string = string> {
  eventType: E;
  /** The command body for this saga's data. */
  body: (data: D) => unknown;
}

/** The replies that answer a command. */
export interface ReplyDefinition<D, E extends string = string> {
  success: E;
  failure: E;
  /**
   * Folds the success reply's body (unvalidated: `unknown`) into the saga's data, for the steps
   * after it; absent when the reply adds nothing.
   */
  fold?: (data: D, body: unknown) => D;
}

/** The step that undoes a forward step. */
export interface CompensationDefinition<D, E extends string = string> {
  name: string;
  command: CommandDefinition<D, E>;
  replies: ReplyDefinition<D, E>;
}

/** One forward step of a saga. */
export interface StepDefinition<D, E extends string = string> {
  name: string;
  command: CommandDefinition<D, E>;
  replies: ReplyDefinition<D, E>;
  /** Absent when there is nothing to undo (e.g. a notification cannot be unsent). */
  compensation?: CompensationDefinition<D, E>;
}

/** The event that starts a saga, and what the saga takes from its body `S`. */
export interface StartDefinition<D, S, E extends string = string> {
  eventType: E;
  /** The saga's key: one saga per key, and every record about it carries the key. */
  key: (start: S) => string;
  /** The saga's data at its start. */
  data: (start: S) => D;
}

/** A whole saga: its type name, its start, its ordered steps and its domain status. */
export interface SagaDefinition<D, S = unknown, E extends string = string> {
  /** The saga type, e.g. `order`: the registry's key and `sagas.saga_type`. */
  name: string;
  start: StartDefinition<D, S, E>;
  steps: readonly StepDefinition<D, E>[];
  /** The domain's status for a saga status (the order saga: PENDING, CONFIRMED or CANCELLED). */
  domainStatus: (status: SagaStatus) => string;
}
