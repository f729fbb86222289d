/** The execution state of one saga: small, serialisable, and all the engine needs to decide. */

/** Every saga status of DESIGN §4. */
export const SAGA_STATUSES = [
  "STARTED",
  "IN_PROGRESS",
  "COMPLETED",
  "COMPENSATING",
  "COMPENSATED",
  "FAILED",
  "COMPENSATION_FAILED",
  "CANCELLED",
] as const;

/** A saga status. */
export type SagaStatus = typeof SAGA_STATUSES[number];

/** Statuses after which nothing happens without an operator. */
export const FINAL_STATUSES: ReadonlySet<SagaStatus> = new Set([
  "COMPLETED",
  "COMPENSATED",
  "FAILED",
  "CANCELLED",
  "COMPENSATION_FAILED",
]);

/** Whether the awaited command runs a step forward or undoes it. */
export type Phase = "forward" | "compensation";

/** The command the saga is waiting on. */
export interface PendingCommand {
  step: number;
  phase: Phase;
  /** `eventId` of the command sent (every re-send too); its reply carries it as `causationId`. */
  commandId: string;
  /** When the reply is overdue: the command is then sent again, or given up at its horizon. */
  deadlineAt: Date;
  /** When the command was first sent: its give-up horizon counts from here. */
  firstSentAt: Date;
  /** How many times it was sent: 1, then one more per re-send. */
  attempt: number;
}

/** Why the saga left the happy path. */
export interface SagaFailure {
  step: number;
  code: string;
  reason: string;
}

/** The whole execution state of a saga. */
export interface SagaState {
  sagaId: string;
  /** The key of the saga's records (the order saga: the order id), from its start event. */
  key: string;
  status: SagaStatus;
  /** How many forward steps took effect, counted from the first. */
  completedSteps: number;
  /** Steps still to undo, the next one first. */
  compensations: number[];
  pending: PendingCommand | null;
  /**
   * Failure replies to the compensation at the head of `compensations` (an unanswered one, sent
   * again at its deadline, counts nothing).
   */
  retryCount: number;
  nextRetryAt: Date | null;
  failure: SagaFailure | null;
}

/** A new saga, before its first command. */
export function newSagaState(sagaId: string, key: string): SagaState {
  return {
    sagaId,
    key,
    status: "STARTED",
    completedSteps: 0,
    compensations: [],
    pending: null,
    retryCount: 0,
    nextRetryAt: null,
    failure: null,
  };
}

/** The step the saga is on: the awaited one, else the next to undo, else the next to run. */
export function currentStep(state: SagaState): number {
  return state.pending?.step ?? state.compensations[0] ?? state.completedSteps;
}
