/**
 * Property tests of the engine over generated saga definitions and generated hostile
 * environments: replies that succeed, fail, never come, come twice or come late.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { EventType, Topic } from "../messages/mod.ts";
import { DEFAULT_BACKOFF } from "./backoff.ts";
import type { SagaDefinition } from "./definition.ts";
import { FINAL_STATUSES, newSagaState, type SagaState } from "./state.ts";
import { type SagaEvent, transition, type TransitionContext } from "./transition.ts";

const policy = { stepTimeoutMs: 1_000, maxCompensationRetries: 2, backoff: DEFAULT_BACKOFF };

/** A synthetic event type; the engine only compares names, so any distinct strings will do. */
function name(text: string): EventType {
  return text as EventType;
}

function makeDefinition(compensable: boolean[]): SagaDefinition<null> {
  return {
    name: "generated",
    steps: compensable.map((hasCompensation, i) => ({
      name: `Step${i}`,
      command: { eventType: name(`DO_${i}`), topic: "t" as Topic, body: () => ({ step: i }) },
      replies: { success: name(`DONE_${i}`), failure: name(`FAILED_${i}`) },
      ...(hasCompensation
        ? {
          compensation: {
            name: `Undo${i}`,
            command: {
              eventType: name(`UNDO_${i}`),
              topic: "t" as Topic,
              body: () => ({ step: i }),
            },
            replies: { success: name(`UNDONE_${i}`), failure: name(`UNDO_FAILED_${i}`) },
          },
        }
        : {}),
    })),
  };
}

/** What the environment does next, chosen by fast-check. */
type Move = "succeed" | "fail" | "silence" | "duplicate" | "stale" | "operator";

interface Run {
  state: SagaState;
  forwardSent: number[];
  compensationsDone: number[];
  compensationsSent: number[];
  failureStep: number | null;
  failureWasTimeout: boolean;
  completedAtFailure: number;
}

function simulate(definition: SagaDefinition<null>, moves: Move[]): Run {
  let now = 0;
  let ids = 0;
  let state = newSagaState("s", "o");
  const run: Run = {
    state,
    forwardSent: [],
    compensationsDone: [],
    compensationsSent: [],
    failureStep: null,
    failureWasTimeout: false,
    completedAtFailure: 0,
  };
  let lastReply: SagaEvent | null = null;
  let staleCommandId: string | null = null;

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
      run.failureStep = result.state.failure.step;
      run.failureWasTimeout = result.state.failure.code === "step_timeout";
      run.completedAtFailure = before.completedSteps;
    }
    for (const command of result.commands) {
      const pending = result.state.pending!;
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
        now += policy.stepTimeoutMs;
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
  fc.constantFrom<Move>("succeed", "succeed", "fail", "silence", "duplicate", "stale", "operator"),
  { maxLength: 40 },
);

Deno.test("transition() always reaches a final status once the world is healthy again", () => {
  fc.assert(
    fc.property(definitions, moves, (definition, script) => {
      const { state } = simulate(definition, script);
      assert.ok(FINAL_STATUSES.has(state.status), `ended ${state.status}`);
      assert.equal(state.pending, null);
    }),
    { numRuns: 2_000 },
  );
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
