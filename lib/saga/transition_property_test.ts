/**
 * Property tests of the engine over generated saga definitions and generated hostile
 * environments: replies that succeed, fail, never come, come twice or come late.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { DEFAULT_BACKOFF } from "./backoff.ts";
import type { SagaDefinition } from "./definition.ts";
import { FINAL_STATUSES, newSagaState, type SagaState } from "./state.ts";
import {
  type OutgoingCommand,
  type SagaEvent,
  type SagaPolicy,
  transition,
  type TransitionContext,
} from "./transition.ts";

const policy: SagaPolicy = {
  stepTimeoutMs: 1_000,
  // A few re-sends (waits of 1 s, 2 s, 4 s…) before each horizon.
  stepGiveUpMs: 5_000,
  compensationGiveUpMs: 9_000,
  maxCompensationRetries: 2,
  backoff: DEFAULT_BACKOFF,
};

/** A generated saga: the engine only compares event names, so any distinct strings will do. */
function makeDefinition(compensable: boolean[]): SagaDefinition<null> {
  return {
    name: "generated",
    start: { eventType: "GO", key: () => "k", data: () => null },
    steps: compensable.map((hasCompensation, i) => ({
      name: `Step${i}`,
      command: { eventType: `DO_${i}`, body: () => ({ step: i }) },
      replies: { success: `DONE_${i}`, failure: `FAILED_${i}` },
      ...(hasCompensation
        ? {
          compensation: {
            name: `Undo${i}`,
            command: { eventType: `UNDO_${i}`, body: () => ({ step: i }) },
            replies: { success: `UNDONE_${i}`, failure: `UNDO_FAILED_${i}` },
          },
        }
        : {}),
    })),
    domainStatus: (status) => status,
  };
}

/**
 * What the environment does next, chosen by fast-check: `silence` lets the pending command's
 * deadline pass, `early` sends a deadline event before it is due.
 */
type Move = "succeed" | "fail" | "silence" | "early" | "duplicate" | "stale" | "operator";

interface Run {
  state: SagaState;
  /** Forward steps, once per command (a re-send is the same command). */
  forwardSent: number[];
  compensationsDone: number[];
  /** Compensation steps, once per command (a re-send is the same command). */
  compensationsSent: number[];
  /** Commands sent again under their eventId. */
  resent: number;
  failureStep: number | null;
  failureWasTimeout: boolean;
  completedAtFailure: number;
}

function simulate(definition: SagaDefinition<null>, moves: Move[]): Run {
  let now = 0;
  let ids = 0;
  let state = newSagaState("s", "k");
  const run: Run = {
    state,
    forwardSent: [],
    compensationsDone: [],
    compensationsSent: [],
    resent: 0,
    failureStep: null,
    failureWasTimeout: false,
    completedAtFailure: 0,
  };
  let lastReply: SagaEvent | null = null;
  let staleCommandId: string | null = null;
  const sentById = new Map<string, OutgoingCommand>();

  const apply = (event: SagaEvent) => {
    const context: TransitionContext<null> = {
      definition,
      data: null,
      policy,
      now: new Date(now),
      commandId: `cmd-${++ids}`,
      jitter: 0,
    };
    const before = state;
    const result = transition(state, event, context);
    if (result.outcome === "ignored") {
      assert.deepEqual(result.state, before, "ignored events change nothing");
    }
    if (
      before.pending?.phase === "compensation" && event.type === "REPLY" &&
      result.outcome === "applied"
    ) {
      const step = before.pending.step;
      if (event.eventType === definition.steps[step]?.compensation?.replies.success) {
        run.compensationsDone.push(step);
      }
    }
    if (before.failure === null && result.state.failure !== null) {
      if (result.state.failure.code === "step_timeout") {
        assert.ok(
          now - before.pending!.firstSentAt.getTime() >= policy.stepGiveUpMs,
          "no in-doubt failure before the step's give-up horizon",
        );
      }
      run.failureStep = result.state.failure.step;
      run.failureWasTimeout = result.state.failure.code === "step_timeout";
      run.completedAtFailure = before.completedSteps;
    }
    if (result.alert?.code === "step_timeout") {
      assert.ok(
        now - before.pending!.firstSentAt.getTime() >= policy.compensationGiveUpMs,
        "no unanswered compensation given up before its horizon",
      );
    }
    for (const command of result.commands) {
      const pending = result.state.pending!;
      const first = sentById.get(command.eventId);
      if (first !== undefined) {
        // A re-send: only at a deadline, the very command first sent, under its eventId.
        assert.equal(event.type, "DEADLINE_PASSED", "only a deadline sends a command again");
        assert.equal(command.eventId, before.pending?.commandId, "a re-send carries its eventId");
        assert.deepEqual(command, first, "a re-send is the command first sent");
        assert.equal(pending.attempt, before.pending!.attempt + 1);
        run.resent++;
        continue;
      }
      sentById.set(command.eventId, command);
      (pending.phase === "forward" ? run.forwardSent : run.compensationsSent).push(pending.step);
      if (pending.phase === "forward") {
        assert.equal(
          run.failureStep,
          null,
          "no forward command after the saga started compensating",
        );
      }
      staleCommandId = before.pending?.commandId ?? staleCommandId;
      assert.equal(command.eventId, context.commandId);
    }
    state = result.state;
  };

  const reply = (kind: "success" | "failure") => {
    const pending = state.pending;
    if (pending === null) return;
    const part = pending.phase === "forward"
      ? definition.steps[pending.step]
      : definition.steps[pending.step]?.compensation;
    lastReply = {
      type: "REPLY",
      eventType: part!.replies[kind],
      eventId: `reply-${++ids}`,
      causationId: pending.commandId,
      body: { code: "x", reason: "y" },
    };
    apply(lastReply);
  };

  apply({ type: "START" });
  for (const move of moves) {
    now += 10;
    if (state.pending === null && state.nextRetryAt !== null) {
      now = Math.max(now, state.nextRetryAt.getTime());
      apply({ type: "RETRY_DUE" });
      continue;
    }
    switch (move) {
      case "succeed":
        reply("success");
        break;
      case "fail":
        reply("failure");
        break;
      case "silence":
        now = Math.max(now, state.pending?.deadlineAt.getTime() ?? now);
        apply({ type: "DEADLINE_PASSED" });
        break;
      case "early":
        apply({ type: "DEADLINE_PASSED" });
        break;
      case "duplicate":
        if (lastReply !== null) apply(lastReply);
        break;
      case "stale":
        if (lastReply !== null && staleCommandId !== null) {
          apply({
            ...(lastReply as Extract<SagaEvent, { type: "REPLY" }>),
            causationId: staleCommandId,
          });
        }
        break;
      case "operator":
        apply({ type: "OPERATOR_RETRY", actor: "prop" });
        break;
    }
  }
  // Then a healthy world: every command succeeds and every due retry fires.
  for (let guard = 0; guard < 100 && !FINAL_STATUSES.has(state.status); guard++) {
    now += 10;
    if (state.pending === null && state.nextRetryAt !== null) {
      now = Math.max(now, state.nextRetryAt.getTime());
      apply({ type: "RETRY_DUE" });
    } else {
      reply("success");
    }
  }
  run.state = state;
  return run;
}

const definitions = fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }).map(makeDefinition);
const moves = fc.array(
  fc.constantFrom<Move>(
    "succeed",
    "succeed",
    "fail",
    "silence",
    "silence",
    "early",
    "duplicate",
    "stale",
    "operator",
  ),
  { maxLength: 40 },
);

Deno.test("transition() always reaches a final status once the world is healthy again", () => {
  let completedAfterResend = 0;
  fc.assert(
    fc.property(definitions, moves, (definition, script) => {
      const { state, resent } = simulate(definition, script);
      assert.ok(FINAL_STATUSES.has(state.status), `ended ${state.status}`);
      assert.equal(state.pending, null);
      if (state.status === "COMPLETED" && resent > 0) completedAfterResend++;
    }),
    { numRuns: 2_000 },
  );
  assert.ok(completedAfterResend > 0, "some sagas complete after re-sent commands");
});

Deno.test("transition() sends forward commands in order, each step at most once", () => {
  fc.assert(
    fc.property(definitions, moves, (definition, script) => {
      const { forwardSent } = simulate(definition, script);
      assert.deepEqual(forwardSent, forwardSent.map((_, i) => i));
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("transition() undoes exactly the steps that took effect or are in doubt, newest first, never twice", () => {
  fc.assert(
    fc.property(definitions, moves, (definition, script) => {
      const run = simulate(definition, script);
      if (run.state.status === "COMPLETED") {
        assert.deepEqual(run.compensationsSent, [], "a completed saga undoes nothing");
        return;
      }
      if (run.state.status === "COMPENSATION_FAILED") return; // stuck by design: the operator was never asked
      const affected = Array.from({ length: run.completedAtFailure }, (_, i) => i);
      if (run.failureWasTimeout && run.failureStep !== null) affected.push(run.failureStep);
      const expected = affected
        .filter((step) => definition.steps[step]?.compensation !== undefined)
        .sort((a, b) => b - a);
      assert.deepEqual(run.compensationsDone, expected);
      assert.equal(run.state.status, expected.length === 0 ? "FAILED" : "COMPENSATED");
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("transition() retries a compensation at most maxCompensationRetries times before COMPENSATION_FAILED", () => {
  fc.assert(
    fc.property(definitions, moves, (definition, script) => {
      const run = simulate(definition, script.filter((m) => m !== "operator"));
      // Commands, not sends: re-sending an unanswered one uses up no retry.
      const sentPerStep = new Map<number, number>();
      for (const step of run.compensationsSent) {
        sentPerStep.set(step, (sentPerStep.get(step) ?? 0) + 1);
      }
      for (const [step, count] of sentPerStep) {
        assert.ok(
          count <= policy.maxCompensationRetries + 1,
          `step ${step} compensation sent ${count} times`,
        );
      }
    }),
    { numRuns: 2_000 },
  );
});
