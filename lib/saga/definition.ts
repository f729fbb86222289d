/**
 * A saga definition is a value: an ordered list of steps, each with its command, the replies
 * that end it, and the compensation that undoes it. Reading it top to bottom gives the happy
 * path; reading the compensations bottom to top gives the rollback path.
 */
import type { EventType, Topic } from "../messages/mod.ts";

/** A command a step sends, built from the saga's data. */
export interface CommandDefinition<D> {
  eventType: EventType;
  topic: Topic;
  /** The command body for this saga's data. */
  body: (data: D) => unknown;
}

/** The replies that answer a command. */
export interface ReplyDefinition {
  success: EventType;
  failure: EventType;
}

/** The step that undoes a forward step. */
export interface CompensationDefinition<D> {
  name: string;
  command: CommandDefinition<D>;
  replies: ReplyDefinition;
}

/** One forward step of a saga. */
export interface StepDefinition<D> {
  name: string;
  command: CommandDefinition<D>;
  replies: ReplyDefinition;
  /** Absent when there is nothing to undo (e.g. a notification cannot be unsent). */
  compensation?: CompensationDefinition<D>;
}

/** A whole saga: its name and its ordered steps. */
export interface SagaDefinition<D> {
  name: string;
  steps: readonly StepDefinition<D>[];
}
