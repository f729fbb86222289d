/**
 * The engine with a saga of its own, which shares nothing with the order saga: a two-step money
 * transfer with its own event names, start body, data and domain status. It shows a definition
 * deriving its key and data from its start event, folding a reply into its data for the steps
 * after it, and rolling back with that data. Given/expect scripts; no broker, no database.
 */
import assert from "node:assert/strict";
import { DEFAULT_BACKOFF } from "./backoff.ts";
import type { SagaDefinition } from "./definition.ts";
import { newSagaState, type SagaState } from "./state.ts";
import { type SagaEvent, type SagaPolicy, type Transition, transition } from "./transition.ts";

type TransferEvent =
  | "TRANSFER_REQUESTED"
  | "DEBIT"
  | "DEBITED"
  | "DEBIT_REFUSED"
  | "UNDO_DEBIT"
  | "DEBIT_UNDONE"
  | "UNDO_DEBIT_FAILED"
  | "CREDIT"
  | "CREDITED"
  | "CREDIT_REFUSED";

interface TransferRequested {
  transferId: string;
  from: string;
  to: string;
  amount: number;
}

interface TransferData {
  request: TransferRequested;
  /** The debit's id, as DEBITED reported it: the credit and the undo name it. */
  debitId: string | null;
}

const TRANSFER_SAGA: SagaDefinition<TransferData, TransferRequested, TransferEvent> = {
  name: "transfer",
  start: {
    eventType: "TRANSFER_REQUESTED",
    key: (request) => request.transferId,
    data: (request) => ({ request, debitId: null }),
  },
  steps: [
    {
      name: "Debit",
      command: {
        eventType: "DEBIT",
        body: ({ request }) => ({ account: request.from, amount: request.amount }),
      },
      replies: {
        success: "DEBITED",
        failure: "DEBIT_REFUSED",
        fold: (data, body) => ({ ...data, debitId: (body as { debitId: string }).debitId }),
      },
      compensation: {
        name: "UndoDebit",
        command: { eventType: "UNDO_DEBIT", body: ({ debitId }) => ({ debitId }) },
        replies: { success: "DEBIT_UNDONE", failure: "UNDO_DEBIT_FAILED" },
      },
    },
    {
      name: "Credit",
      command: {
        eventType: "CREDIT",
        body: ({ request, debitId }) => ({ account: request.to, amount: request.amount, debitId }),
      },
      replies: { success: "CREDITED", failure: "CREDIT_REFUSED" },
    },
  ],
  domainStatus: (status) =>
    status === "COMPLETED" ? "DONE" : status === "COMPENSATED" ? "REVERSED" : "OPEN",
};

const request: TransferRequested = { transferId: "t-1", from: "alice", to: "bob", amount: 25 };
const policy: SagaPolicy = {
  stepTimeoutMs: 1_000,
  stepGiveUpMs: 10_000,
  compensationGiveUpMs: 60_000,
  maxCompensationRetries: 1,
  backoff: DEFAULT_BACKOFF,
};

/** Plays `events` from the start event; returns every transition. */
function play(
  events: Array<SagaEvent<TransferEvent>>,
): Transition<TransferData, TransferEvent>[] {
  let state: SagaState = newSagaState("saga-1", TRANSFER_SAGA.start.key(request));
  let data = TRANSFER_SAGA.start.data(request);
  return events.map((event, index) => {
    const causationId = state.pending?.commandId;
    const result = transition(
      state,
      event.type === "REPLY" && causationId !== undefined ? { ...event, causationId } : event,
      {
        definition: TRANSFER_SAGA,
        data,
        policy,
        now: new Date(Date.UTC(2026, 0, 1, 0, 0, index)),
        commandId: `command-${index}`,
        jitter: 0,
      },
    );
    state = result.state;
    data = result.data;
    return result;
  });
}

function reply(eventType: TransferEvent, body: unknown = {}): SagaEvent<TransferEvent> {
  return { type: "REPLY", eventType, eventId: `reply-${eventType}`, body };
}

Deno.test("a transfer saga runs on the engine: key and data from its start, a fold the credit uses", () => {
  const log = play([
    { type: "START" },
    reply("DEBITED", { debitId: "d-7" }),
    reply("CREDITED"),
  ]);
  assert.equal(log[0]?.state.key, "t-1", "the key derived from the start event");
  assert.deepEqual(log.map((t) => t.commands.map((c) => [c.eventType, c.body])), [
    [["DEBIT", { account: "alice", amount: 25 }]],
    [["CREDIT", { account: "bob", amount: 25, debitId: "d-7" }]],
    [],
  ]);
  const last = log.at(-1)!;
  assert.equal(last.state.status, "COMPLETED");
  assert.equal(TRANSFER_SAGA.domainStatus(last.state.status), "DONE");
  assert.deepEqual(last.data, { request, debitId: "d-7" });
});

Deno.test("a refused credit undoes the debit named by the folded data, then COMPENSATED", () => {
  const log = play([
    { type: "START" },
    reply("DEBITED", { debitId: "d-9" }),
    reply("CREDIT_REFUSED", { code: "account_closed", reason: "Bob's account is closed" }),
    reply("DEBIT_UNDONE"),
  ]);
  assert.deepEqual(log.map((t) => [t.state.status, t.commands.map((c) => c.eventType)]), [
    ["IN_PROGRESS", ["DEBIT"]],
    ["IN_PROGRESS", ["CREDIT"]],
    ["COMPENSATING", ["UNDO_DEBIT"]],
    ["COMPENSATED", []],
  ]);
  assert.deepEqual(log[2]?.commands[0]?.body, { debitId: "d-9" });
  assert.deepEqual(log[2]?.state.failure, {
    step: 1,
    code: "account_closed",
    reason: "Bob's account is closed",
  });
  assert.equal(log[3]?.note, "UndoDebit succeeded; saga compensated");
  assert.equal(TRANSFER_SAGA.domainStatus(log[3]!.state.status), "REVERSED");
});

Deno.test("a failing undo stops the transfer in COMPENSATION_FAILED; an operator retry resumes it", () => {
  const failedUndo = reply("UNDO_DEBIT_FAILED", { code: "ledger_down", reason: "Ledger down" });
  const log = play([
    { type: "START" },
    reply("DEBITED", { debitId: "d-3" }),
    reply("CREDIT_REFUSED", { code: "closed", reason: "Closed" }),
    failedUndo,
    { type: "RETRY_DUE" },
    failedUndo,
    { type: "OPERATOR_RETRY", actor: "ops" },
    reply("DEBIT_UNDONE"),
  ]);
  assert.deepEqual(log.map((t) => t.state.status), [
    "IN_PROGRESS",
    "IN_PROGRESS",
    "COMPENSATING",
    "COMPENSATING",
    "COMPENSATING",
    "COMPENSATION_FAILED",
    "COMPENSATING",
    "COMPENSATED",
  ]);
  assert.deepEqual(log[4]?.commands.map((c) => c.eventType), ["UNDO_DEBIT"], "the due retry");
  assert.deepEqual(log[5]?.alert, {
    step: "UndoDebit",
    attempts: 2,
    code: "ledger_down",
    reason: "Ledger down",
  });
  assert.deepEqual(log[6]?.commands.map((c) => [c.eventType, c.body]), [
    ["UNDO_DEBIT", { debitId: "d-3" }],
  ]);
  assert.equal(log[6]?.note, "Operator ops retried the compensation; sent UNDO_DEBIT");
});

Deno.test("the engine refuses an operator retry of a transfer that is not COMPENSATION_FAILED", () => {
  const [, refused] = play([{ type: "START" }, { type: "OPERATOR_RETRY", actor: "ops" }]);
  assert.equal(refused?.outcome, "ignored");
  assert.equal(refused?.note, "It is IN_PROGRESS; only a COMPENSATION_FAILED saga can be retried");
  assert.deepEqual(refused?.commands, []);
});
