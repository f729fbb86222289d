/**
 * The saga engine's only decision point: a pure function from (state, event) to the next state
 * and the commands to send. It knows steps only through the definition, never by name. A passed
 * deadline (`DEADLINE_PASSED`) sends the pending command again under its eventId, with backoff,
 * until its give-up horizon; only then is a forward step failed in doubt, or a compensation
 * stopped in COMPENSATION_FAILED. Failure replies alone use up a compensation's retries. A
 * success reply may fold its body into the saga's data (`ReplyDefinition.fold`), which the
 * commands after it are built from; the transition returns that data beside the state. An
 * operator's retry is an event like the others: the engine alone says whether it is allowed.
 */
import { backoffDelayMs, type BackoffPolicy } from "./backoff.ts";
import type { CommandDefinition, CompensationDefinition, SagaDefinition } from "./definition.ts";
import { FINAL_STATUSES, type Phase, type SagaState } from "./state.ts";

/** Something that happened to a saga; `E` names its replies. */
export type SagaEvent<E extends string = string> =
  | { type: "START" }
  | {
    type: "REPLY";
    eventType: E;
    eventId: string;
    /** The command this reply answers, when the participant said so. */
    causationId?: string;
    /** The reply's body: failure replies carry `{ reason, code }`, a success may be folded. */
    body: unknown;
  }
  | { type: "DEADLINE_PASSED" }
  | { type: "RETRY_DUE" }
  | { type: "OPERATOR_RETRY"; actor: string };

/** Timings and limits of the engine. */
export interface SagaPolicy {
  /**
   * How long a command waits for its reply before it is sent again (default 30 s); each later
   * wait grows by the backoff's factor, up to its cap (or this, when longer).
   */
  stepTimeoutMs: number;
  /**
   * How long a forward step may go unanswered, from its first send, before it is failed in
   * doubt and its own compensation runs too (default 10 min).
   */
  stepGiveUpMs: number;
  /**
   * How long a compensation may go unanswered, from its first send, before the saga stops in
   * COMPENSATION_FAILED with an alert (default 24 h).
   */
  compensationGiveUpMs: number;
  /** Failure replies to a compensation retried before COMPENSATION_FAILED (default 3). */
  maxCompensationRetries: number;
  backoff: BackoffPolicy;
}

/** What a transition needs besides state and event: all inputs explicit, so it stays pure. */
export interface TransitionContext<D, E extends string = string> {
  /** The saga's definition (its start is not needed here: `never` takes any start body). */
  definition: SagaDefinition<D, never, E>;
  /** The saga's data as it stands, used to build command bodies. */
  data: D;
  policy: SagaPolicy;
  now: Date;
  /** The `eventId` to give the command this transition sends, if any. */
  commandId: string;
  /** A random sample in [-1, 1] for backoff jitter. */
  jitter: number;
}

/** A command to send, fully built (its topic is the event catalogue's business). */
export interface OutgoingCommand<E extends string = string> {
  eventType: E;
  eventId: string;
  body: unknown;
}

/** The alert raised when a compensation keeps failing. */
export interface CompensationFailedAlert {
  step: string;
  attempts: number;
  reason: string;
  code: string;
}

/** The result of a transition. */
export interface Transition<D = unknown, E extends string = string> {
  state: SagaState;
  /** The saga's data after the event: changed only by a success reply's fold. */
  data: D;
  /** At most one command: the next forward step or the next compensation. */
  commands: OutgoingCommand<E>[];
  alert: CompensationFailedAlert | null;
  /** `ignored` when the event changed nothing (late, duplicate or unexpected). */
  outcome: "applied" | "ignored";
  /** Name of the step concerned, for the history. */
  step: string | null;
  /** One human sentence for the timeline. */
  note: string;
}

/** What a step of the transition decides; `transition` adds the saga's data to it. */
type Decision<E extends string> = Omit<Transition<never, E>, "data">;

/** Applies `event` to `state` and returns the new state, data and commands to send. */
export function transition<D, E extends string>(
  state: SagaState,
  event: SagaEvent<E>,
  context: TransitionContext<D, E>,
): Transition<D, E> {
  switch (event.type) {
    case "START":
      return { ...start(state, context), data: context.data };
    case "REPLY":
      return onReply(state, event, context);
    case "DEADLINE_PASSED":
      return { ...onDeadline(state, context), data: context.data };
    case "RETRY_DUE":
      return { ...onRetryDue(state, context), data: context.data };
    case "OPERATOR_RETRY":
      return { ...onOperatorRetry(state, event.actor, context), data: context.data };
  }
}

function start<D, E extends string>(
  state: SagaState,
  context: TransitionContext<D, E>,
): Decision<E> {
  if (state.status !== "STARTED") return ignored(state, `Saga already ${state.status}`);
  if (context.definition.steps.length === 0) {
    return applied({ ...state, status: "COMPLETED" }, null, "Saga has no steps");
  }
  return sendForward({ ...state, status: "IN_PROGRESS" }, 0, context, "Saga started");
}

function onReply<D, E extends string>(
  state: SagaState,
  event: Extract<SagaEvent<E>, { type: "REPLY" }>,
  context: TransitionContext<D, E>,
): Transition<D, E> {
  const unchanged = (decision: Decision<E>) => ({ ...decision, data: context.data });
  const pending = state.pending;
  if (pending === null || FINAL_STATUSES.has(state.status)) {
    return unchanged(ignored(state, `${event.eventType} arrived while no command is pending`));
  }
  if (event.causationId !== undefined && event.causationId !== pending.commandId) {
    return unchanged(
      ignored(state, `${event.eventType} answers an earlier command, not the pending one`),
    );
  }
  const { replies, name } = stepPart(context.definition, pending.step, pending.phase);
  if (event.eventType === replies.success) {
    // The reply's fold first: the commands that follow are built from the data it leaves.
    const data = replies.fold === undefined ? context.data : replies.fold(context.data, event.body);
    const folded = { ...context, data };
    const decision = pending.phase === "forward"
      ? forwardSucceeded(state, pending.step, folded)
      : compensationSucceeded(state, folded);
    return { ...decision, data };
  }
  if (event.eventType === replies.failure) {
    const failure = failureOf(event.body, event.eventType);
    return unchanged(
      pending.phase === "forward"
        ? startCompensating(state, { step: pending.step, ...failure }, null, context)
        : compensationFailed(state, failure, context),
    );
  }
  return unchanged(ignored(state, `${event.eventType} does not answer ${name}, which is pending`));
}

/** The `{ code, reason }` of a failure reply's body, with stand-ins for what it lacks. */
function failureOf(body: unknown, eventType: string): { code: string; reason: string } {
  const { code, reason } = (typeof body === "object" && body !== null ? body : {}) as {
    code?: unknown;
    reason?: unknown;
  };
  return {
    code: typeof code === "string" ? code : "unknown",
    reason: typeof reason === "string" ? reason : eventType,
  };
}

function onDeadline<D, E extends string>(
  state: SagaState,
  context: TransitionContext<D, E>,
): Decision<E> {
  const pending = state.pending;
  if (pending === null || FINAL_STATUSES.has(state.status) || pending.deadlineAt > context.now) {
    return ignored(state, "No pending command is overdue");
  }
  const { name, command } = stepPart(context.definition, pending.step, pending.phase);
  const horizonMs = giveUpMs(context.policy, pending.phase);
  const unansweredMs = context.now.getTime() - pending.firstSentAt.getTime();
  if (unansweredMs < horizonMs) {
    // Unanswered is not failed: the same command again, under the same eventId, so a
    // participant that handled it already answers from its record and does nothing twice.
    const attempt = pending.attempt + 1;
    const next = { ...pending, attempt, deadlineAt: replyDeadline(pending, attempt, context) };
    return {
      ...applied(
        { ...state, pending: next },
        name,
        `No reply to ${command.eventType} yet; re-sent (attempt ${attempt})`,
      ),
      commands: [buildCommand(command, pending.commandId, context)],
    };
  }
  const failure = {
    code: "step_timeout",
    reason: `No reply to ${command.eventType} in ${describeMs(horizonMs)} (sent ${
      pending.attempt === 1 ? "once" : `${pending.attempt} times`
    })`,
  };
  if (pending.phase === "compensation") return compensationGaveUp(state, failure, context);
  // The step may have taken effect: it is in doubt, so its own compensation runs too.
  return startCompensating(state, { step: pending.step, ...failure }, pending.step, context);
}

function onRetryDue<D, E extends string>(
  state: SagaState,
  context: TransitionContext<D, E>,
): Decision<E> {
  const head = state.compensations[0];
  const due = state.nextRetryAt !== null && state.nextRetryAt <= context.now;
  if (state.status !== "COMPENSATING" || state.pending !== null || head === undefined || !due) {
    return ignored(state, "No compensation retry is due");
  }
  return sendCompensation(
    { ...state, nextRetryAt: null },
    head,
    context,
    `Retry ${state.retryCount} of ${stepPart(context.definition, head, "compensation").name}`,
  );
}

function onOperatorRetry<D, E extends string>(
  state: SagaState,
  actor: string,
  context: TransitionContext<D, E>,
): Decision<E> {
  const head = state.compensations[0];
  if (state.status !== "COMPENSATION_FAILED" || head === undefined) {
    return ignored(state, `It is ${state.status}; only a COMPENSATION_FAILED saga can be retried`);
  }
  return sendCompensation(
    { ...state, status: "COMPENSATING", retryCount: 0, nextRetryAt: null },
    head,
    context,
    `Operator ${actor} retried the compensation`,
  );
}

function forwardSucceeded<D, E extends string>(
  state: SagaState,
  step: number,
  context: TransitionContext<D, E>,
): Decision<E> {
  const next = { ...state, completedSteps: step + 1, pending: null };
  const name = context.definition.steps[step]?.name ?? `step ${step}`;
  if (step + 1 < context.definition.steps.length) {
    return sendForward(next, step + 1, context, `${name} succeeded`);
  }
  return applied({ ...next, status: "COMPLETED" }, name, `${name} succeeded; saga completed`);
}

function startCompensating<D, E extends string>(
  state: SagaState,
  failure: { step: number; code: string; reason: string },
  inDoubtStep: number | null,
  context: TransitionContext<D, E>,
): Decision<E> {
  const name = context.definition.steps[failure.step]?.name ?? `step ${failure.step}`;
  const plan = compensationPlan(context.definition, state.completedSteps, inDoubtStep);
  const failed = { ...state, failure, pending: null, compensations: plan, retryCount: 0 };
  const why = `${name} failed (${failure.code}): ${failure.reason}`;
  const head = plan[0];
  if (head === undefined) {
    return applied({ ...failed, status: "FAILED" }, name, `${why}; nothing to undo`);
  }
  return sendCompensation({ ...failed, status: "COMPENSATING" }, head, context, why);
}

function compensationSucceeded<D, E extends string>(
  state: SagaState,
  context: TransitionContext<D, E>,
): Decision<E> {
  const [done, ...rest] = state.compensations;
  const name = stepPart(context.definition, done ?? 0, "compensation").name;
  const next = { ...state, compensations: rest, pending: null, retryCount: 0, nextRetryAt: null };
  const head = rest[0];
  if (head === undefined) {
    return applied({ ...next, status: "COMPENSATED" }, name, `${name} succeeded; saga compensated`);
  }
  return sendCompensation(next, head, context, `${name} succeeded`);
}

function compensationFailed<D, E extends string>(
  state: SagaState,
  failure: { code: string; reason: string },
  context: TransitionContext<D, E>,
): Decision<E> {
  const head = state.compensations[0] ?? 0;
  const name = stepPart(context.definition, head, "compensation").name;
  const retryCount = state.retryCount + 1;
  const { maxCompensationRetries, backoff } = context.policy;
  if (retryCount > maxCompensationRetries) {
    const alert = { step: name, attempts: retryCount, ...failure };
    return {
      ...applied(
        { ...state, status: "COMPENSATION_FAILED", pending: null, retryCount, nextRetryAt: null },
        name,
        `${name} failed ${retryCount} times (${failure.code}): ${failure.reason}; operator needed`,
      ),
      alert,
    };
  }
  const delayMs = backoffDelayMs(retryCount, context.jitter, backoff);
  const nextRetryAt = new Date(context.now.getTime() + delayMs);
  return applied(
    { ...state, pending: null, retryCount, nextRetryAt },
    name,
    `${name} failed (${failure.code}): ${failure.reason}; retry ${retryCount} in ${delayMs} ms`,
  );
}

function compensationGaveUp<D, E extends string>(
  state: SagaState,
  failure: { code: string; reason: string },
  context: TransitionContext<D, E>,
): Decision<E> {
  const name = stepPart(context.definition, state.compensations[0] ?? 0, "compensation").name;
  // The unanswered attempt is one more: the failure replies before it, then this one.
  const attempts = state.retryCount + 1;
  return {
    ...applied(
      { ...state, status: "COMPENSATION_FAILED", pending: null, nextRetryAt: null },
      name,
      `${name} gave up (${failure.code}): ${failure.reason}; operator needed`,
    ),
    alert: { step: name, attempts, ...failure },
  };
}

/** Steps to undo, next first: the in-doubt step (if any), then completed ones in reverse order. */
export function compensationPlan<D, E extends string>(
  definition: SagaDefinition<D, never, E>,
  completedSteps: number,
  inDoubtStep: number | null,
): number[] {
  const candidates = [
    ...(inDoubtStep === null ? [] : [inDoubtStep]),
    ...Array.from({ length: completedSteps }, (_, i) => completedSteps - 1 - i),
  ];
  return candidates.filter((step) => definition.steps[step]?.compensation !== undefined);
}

function sendForward<D, E extends string>(
  state: SagaState,
  step: number,
  context: TransitionContext<D, E>,
  note: string,
): Decision<E> {
  return send(state, step, "forward", context, note);
}

function sendCompensation<D, E extends string>(
  state: SagaState,
  step: number,
  context: TransitionContext<D, E>,
  note: string,
): Decision<E> {
  return send(state, step, "compensation", context, note);
}

function send<D, E extends string>(
  state: SagaState,
  step: number,
  phase: Phase,
  context: TransitionContext<D, E>,
  note: string,
): Decision<E> {
  const { name, command } = stepPart(context.definition, step, phase);
  const first = { firstSentAt: context.now, phase };
  const deadlineAt = replyDeadline(first, 1, context);
  const pending = { step, commandId: context.commandId, deadlineAt, attempt: 1, ...first };
  return {
    ...applied({ ...state, pending }, name, `${note}; sent ${command.eventType}`),
    commands: [buildCommand(command, context.commandId, context)],
  };
}

function buildCommand<D, E extends string>(
  command: CommandDefinition<D, E>,
  eventId: string,
  context: TransitionContext<D, E>,
): OutgoingCommand<E> {
  return {
    eventType: command.eventType,
    eventId,
    body: command.body(context.data),
  };
}

/**
 * How long send number `attempt` (1-based) of a command waits for its reply: the step timeout
 * first, then growing by the backoff's factor up to its cap (or the step timeout, if longer),
 * with the backoff's jitter from the second send on. One backoff function for every wait.
 */
export function replyWaitMs(attempt: number, jitter: number, policy: SagaPolicy): number {
  return backoffDelayMs(attempt, attempt === 1 ? 0 : jitter, {
    ...policy.backoff,
    initialMs: policy.stepTimeoutMs,
    maxMs: Math.max(policy.backoff.maxMs, policy.stepTimeoutMs),
  });
}

/** How long a command of `phase` may go unanswered before it is given up. */
export function giveUpMs(policy: SagaPolicy, phase: Phase): number {
  return phase === "forward" ? policy.stepGiveUpMs : policy.compensationGiveUpMs;
}

/** The deadline of send number `attempt`, never past the command's give-up horizon. */
function replyDeadline<D, E extends string>(
  first: { firstSentAt: Date; phase: Phase },
  attempt: number,
  context: TransitionContext<D, E>,
): Date {
  const waitMs = replyWaitMs(attempt, context.jitter, context.policy);
  const horizon = first.firstSentAt.getTime() + giveUpMs(context.policy, first.phase);
  return new Date(Math.min(context.now.getTime() + waitMs, horizon));
}

function stepPart<D, E extends string>(
  definition: SagaDefinition<D, never, E>,
  step: number,
  phase: Phase,
): CompensationDefinition<D, E> {
  const forward = definition.steps[step];
  const part = phase === "forward" ? forward : forward?.compensation;
  if (part === undefined) {
    throw new RangeError(`Saga "${definition.name}" has no ${phase} part for step ${step}`);
  }
  return part;
}

function applied<E extends string>(
  state: SagaState,
  step: string | null,
  note: string,
): Decision<E> {
  return { state, commands: [], alert: null, outcome: "applied", step, note };
}

function ignored<E extends string>(state: SagaState, note: string): Decision<E> {
  return { state, commands: [], alert: null, outcome: "ignored", step: null, note };
}

/** `600000` → "10 min": the largest whole unit, for history lines. */
function describeMs(ms: number): string {
  const units: Array<[number, string]> = [[3_600_000, "h"], [60_000, "min"], [1_000, "s"]];
  const unit = units.find(([size]) => ms >= size && ms % size === 0);
  return unit === undefined ? `${ms} ms` : `${ms / unit[0]} ${unit[1]}`;
}
