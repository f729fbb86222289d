/** Saga events as the orchestrator's observers receive them, built for tests. */
import type { AppliedEvent } from "../lib/order_saga/mod.ts";
import { newSagaState, type SagaStatus } from "../lib/saga/mod.ts";

/**
 * An event of saga `sagaId` (of order `orderId`) that moved it to `status` at the step
 * `ProcessPayment`, or, `ignored`, left it as it was; its note says which.
 */
export function sagaEvent(
  sagaId: string,
  orderId: string,
  status: SagaStatus,
  outcome: "applied" | "ignored" = "applied",
): AppliedEvent {
  const before = newSagaState(sagaId, orderId);
  return {
    before,
    transition: {
      state: { ...before, status },
      data: null,
      commands: [],
      alert: null,
      outcome,
      step: "ProcessPayment",
      note: `${outcome} to ${status}`,
    },
  };
}
