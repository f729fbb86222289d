/**
 * Every path of DESIGN §4 through the real order saga definition, as given/expect scripts: each
 * line is an event and what the saga must do about it. No broker, no database.
 */
import assert from "node:assert/strict";
import {
  encodeMessage,
  type EventType,
  type OrderCreated,
  ReserveInventory,
} from "../messages/mod.ts";
import {
  DEFAULT_BACKOFF,
  newSagaState,
  type SagaEvent,
  type SagaPolicy,
  type SagaState,
  type SagaStatus,
  type Transition,
  transition,
} from "../saga/mod.ts";
import { ORDER_SAGA, type OrderSagaData, orderStatusOf } from "./definition.ts";

const order: OrderCreated = {
  orderId: "11111111-1111-4111-8111-111111111111",
  customerId: "22222222-2222-4222-8222-222222222222",
  customerEmail: "ada@example.com",
  currency: "usd",
  paymentMethod: "pm_card_visa",
  items: [
    { productId: "33333333-3333-4333-8333-333333333333", quantity: 2, unitPriceCents: 1999 },
    { productId: "44444444-4444-4444-8444-444444444444", quantity: 1, unitPriceCents: 500 },
  ],
};
const policy: SagaPolicy = {
  stepTimeoutMs: 30_000,
  stepGiveUpMs: 600_000,
  compensationGiveUpMs: 86_400_000,
  maxCompensationRetries: 3,
  backoff: DEFAULT_BACKOFF,
};
const t0 = new Date("2026-01-01T00:00:00.000Z");

/** One line of a script: an event (a reply type, or a control event) and what must follow. */
type Line = {
  event: EventType | "START" | "DEADLINE_PASSED" | "RETRY_DUE" | `OPERATOR_RETRY`;
  /** Milliseconds after t0 at which it happens (default: the line number). */
  at?: number;
  /** Reply answering an earlier command than the pending one. */
  stale?: boolean;
  expect: {
    status: SagaStatus;
    send?: EventType;
    ignored?: boolean;
    retryInMs?: number;
    /** The command sent is the pending one again: same eventType, same eventId, same body. */
    resent?: boolean;
    /** The reply to the command sent is due this long after the line's time. */
    deadlineInMs?: number;
    alert?: boolean;
  };
};

/** What `PAYMENT_PROCESSED` reports in these scripts: not the order's total, to tell them apart. */
const charged = { paymentIntentId: "pi_test", amountCents: 4000 };

function play(
  lines: Line[],
  given: Partial<SagaPolicy> = {},
): { state: SagaState; data: OrderSagaData; log: Transition<OrderSagaData, EventType>[] } {
  let state = newSagaState("55555555-5555-4555-8555-555555555555", ORDER_SAGA.start.key(order));
  let data = ORDER_SAGA.start.data(order);
  const log: Transition<OrderSagaData, EventType>[] = [];
  const commandIds: string[] = [];
  lines.forEach((line, index) => {
    const now = new Date(t0.getTime() + (line.at ?? index));
    const event = toEvent(line, state, commandIds);
    const commandId = `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`;
    const result = transition(state, event, {
      definition: ORDER_SAGA,
      data,
      policy: { ...policy, ...given },
      now,
      commandId,
      jitter: 0,
    });
    const where = `line ${index} (${line.event})`;
    assert.equal(result.state.status, line.expect.status, `${where}: status (${result.note})`);
    assert.deepEqual(
      result.commands.map((c) => c.eventType),
      line.expect.send ? [line.expect.send] : [],
      `${where}: commands`,
    );
    assert.equal(
      result.outcome,
      line.expect.ignored ? "ignored" : "applied",
      `${where}: outcome (${result.note})`,
    );
    assert.equal(result.alert !== null, line.expect.alert ?? false, `${where}: alert`);
    if (line.expect.retryInMs !== undefined) {
      assert.equal(
        result.state.nextRetryAt?.getTime(),
        now.getTime() + line.expect.retryInMs,
        `${where}: retry time`,
      );
    }
    if (line.expect.resent) {
      const [command] = result.commands;
      assert.equal(command?.eventId, state.pending?.commandId, `${where}: the same eventId`);
      assert.equal(result.state.pending?.commandId, command?.eventId, `${where}: still pending`);
      const first = log.find((t) => t.commands[0]?.eventId === command?.eventId)?.commands[0];
      assert.deepEqual(command, first, `${where}: the same command as first sent`);
      assert.match(
        result.note,
        new RegExp(`re-sent \\(attempt ${result.state.pending?.attempt}\\)`),
      );
    } else if (result.commands.length > 0) {
      assert.notEqual(result.commands[0]?.eventId, state.pending?.commandId, `${where}: a new id`);
    }
    if (line.expect.deadlineInMs !== undefined) {
      assert.equal(
        result.state.pending?.deadlineAt.getTime(),
        now.getTime() + line.expect.deadlineInMs,
        `${where}: deadline`,
      );
    }
    for (const command of result.commands) commandIds.push(command.eventId);
    if (result.outcome === "ignored") {
      assert.deepEqual(result.state, state, `${where}: ignored events change nothing`);
    }
    if (result.outcome === "ignored") {
      assert.deepEqual(result.data, data, `${where}: ignored events change no data`);
    }
    state = result.state;
    data = result.data;
    log.push(result);
  });
  return { state, data, log };
}

function toEvent(line: Line, state: SagaState, commandIds: string[]): SagaEvent<EventType> {
  switch (line.event) {
    case "START":
      return { type: "START" };
    case "DEADLINE_PASSED":
      return { type: "DEADLINE_PASSED" };
    case "RETRY_DUE":
      return { type: "RETRY_DUE" };
    case "OPERATOR_RETRY":
      return { type: "OPERATOR_RETRY", actor: "ops" };
    default: {
      const causationId = line.stale
        ? commandIds.at(-2)
        : state.pending?.commandId ?? commandIds.at(-1);
      return {
        type: "REPLY",
        eventType: line.event,
        eventId: crypto.randomUUID(),
        causationId,
        body: line.event === "PAYMENT_PROCESSED"
          ? { orderId: order.orderId, ...charged }
          : { reason: `${line.event} happened`, code: "test_code" },
      };
    }
  }
}

Deno.test("transition() runs the happy path: reserve, pay, notify, COMPLETED", () => {
  const { state } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    { event: "NOTIFICATION_SENT", expect: { status: "COMPLETED" } },
  ]);
  assert.equal(state.completedSteps, 3);
  assert.equal(state.pending, null);
  assert.equal(orderStatusOf(state.status), "CONFIRMED");
});

Deno.test("transition() builds each command body from the order", () => {
  const { log } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
  ]);
  const [reserve, pay, notify] = log.map((t) => t.commands[0]);
  // Each line carries the price the customer was shown, for inventory to check.
  assert.deepEqual(reserve?.body, {
    orderId: order.orderId,
    items: [
      { productId: "33333333-3333-4333-8333-333333333333", quantity: 2, unitPriceCents: 1999 },
      { productId: "44444444-4444-4444-8444-444444444444", quantity: 1, unitPriceCents: 500 },
    ],
  });
  assert.equal(ReserveInventory.safeParse(reserve?.body).success, true, "a valid body");
  assert.deepEqual(pay?.body, {
    orderId: order.orderId,
    customerId: order.customerId,
    amountCents: 4498,
    currency: "usd",
    paymentMethod: "pm_card_visa",
  });
  // The customer is told what was charged: PAYMENT_PROCESSED's amount, folded into the data.
  assert.equal((notify?.body as { totalCents: number }).totalCents, charged.amountCents);
});

Deno.test("transition() folds PAYMENT_PROCESSED's charge into the saga's data, and nothing else", () => {
  const { data, log } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    { event: "NOTIFICATION_SENT", expect: { status: "COMPLETED" } },
  ]);
  assert.deepEqual(log.map((t) => t.data.charge), [null, null, charged, charged]);
  assert.deepEqual(data, { order, charge: charged });
});

Deno.test("ORDER_SAGA starts from ORDER_CREATED, keyed by the order id", () => {
  assert.equal(ORDER_SAGA.start.eventType, "ORDER_CREATED");
  assert.equal(ORDER_SAGA.start.key(order), order.orderId);
  assert.deepEqual(ORDER_SAGA.start.data(order), { order, charge: null });
});

Deno.test("every command of the order saga goes, valid, to its topic of the event catalogue", () => {
  const { log } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    { event: "NOTIFICATION_FAILED", expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    { event: "PAYMENT_REFUNDED", expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" } },
  ]);
  const topics = log.flatMap((t) => t.commands).map((command) =>
    encodeMessage({ eventType: command.eventType, body: command.body as never }).topic
  );
  assert.deepEqual(topics, [
    "inventory.commands",
    "payment.commands",
    "notification.commands",
    "payment.commands",
    "inventory.commands",
  ]);
});

Deno.test("transition() ends FAILED with nothing to undo when the reservation fails", () => {
  const { state } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVATION_FAILED", expect: { status: "FAILED" } },
  ]);
  assert.deepEqual(state.failure, {
    step: 0,
    code: "test_code",
    reason: "INVENTORY_RESERVATION_FAILED happened",
  });
  assert.equal(orderStatusOf(state.status), "CANCELLED");
});

Deno.test("transition() releases stock when the payment fails, then COMPENSATED", () => {
  const { state } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_FAILED", expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" } },
    { event: "INVENTORY_RELEASED", expect: { status: "COMPENSATED" } },
  ]);
  assert.equal(orderStatusOf(state.status), "CANCELLED");
});

Deno.test("transition() refunds then releases, newest first, when the notification fails", () => {
  play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    { event: "NOTIFICATION_FAILED", expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    { event: "PAYMENT_REFUNDED", expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" } },
    { event: "INVENTORY_RELEASED", expect: { status: "COMPENSATED" } },
  ]);
});

Deno.test("transition() retries a failing refund with 1 s, 2 s, 4 s backoff, then COMPENSATION_FAILED with an alert", () => {
  const { state, log } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    {
      event: "NOTIFICATION_FAILED",
      at: 100,
      expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" },
    },
    { event: "REFUND_FAILED", at: 200, expect: { status: "COMPENSATING", retryInMs: 1_000 } },
    { event: "RETRY_DUE", at: 500, expect: { status: "COMPENSATING", ignored: true } },
    { event: "RETRY_DUE", at: 1_200, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    { event: "REFUND_FAILED", at: 1_300, expect: { status: "COMPENSATING", retryInMs: 2_000 } },
    { event: "RETRY_DUE", at: 3_300, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    { event: "REFUND_FAILED", at: 3_400, expect: { status: "COMPENSATING", retryInMs: 4_000 } },
    { event: "RETRY_DUE", at: 7_400, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    { event: "REFUND_FAILED", at: 7_500, expect: { status: "COMPENSATION_FAILED", alert: true } },
  ]);
  assert.deepEqual(log.at(-1)?.alert, {
    step: "RefundPayment",
    attempts: 4,
    reason: "REFUND_FAILED happened",
    code: "test_code",
  });
  assert.deepEqual(state.compensations, [1, 0], "the refund and the release are still owed");
  assert.equal(orderStatusOf(state.status), "PENDING");
});

Deno.test("transition() resumes with the release once a retried refund succeeds", () => {
  const { state } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    {
      event: "NOTIFICATION_FAILED",
      at: 10,
      expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" },
    },
    { event: "REFUND_FAILED", at: 20, expect: { status: "COMPENSATING", retryInMs: 1_000 } },
    { event: "RETRY_DUE", at: 1_020, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    {
      event: "PAYMENT_REFUNDED",
      at: 1_030,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 1_040, expect: { status: "COMPENSATED" } },
  ]);
  assert.equal(state.retryCount, 0);
});

Deno.test("transition() lets an operator retry a COMPENSATION_FAILED saga from a clean count", () => {
  const lines: Line[] = [
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "PAYMENT_FAILED", expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" } },
  ];
  for (let attempt = 0; attempt < 3; attempt++) {
    lines.push({
      event: "INVENTORY_RELEASE_FAILED",
      at: 100_000 * attempt + 10,
      expect: { status: "COMPENSATING" },
    });
    lines.push({
      event: "RETRY_DUE",
      at: 100_000 * attempt + 90_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    });
  }
  lines.push({
    event: "INVENTORY_RELEASE_FAILED",
    at: 400_000,
    expect: { status: "COMPENSATION_FAILED", alert: true },
  });
  lines.push({
    event: "RETRY_DUE",
    at: 500_000,
    expect: { status: "COMPENSATION_FAILED", ignored: true },
  });
  lines.push({
    event: "OPERATOR_RETRY",
    at: 600_000,
    expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
  });
  lines.push({ event: "INVENTORY_RELEASED", at: 600_010, expect: { status: "COMPENSATED" } });
  play(lines);
});

Deno.test("transition() refuses an operator retry of a saga that is not COMPENSATION_FAILED", () => {
  const { log } = play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "OPERATOR_RETRY", expect: { status: "IN_PROGRESS", ignored: true } },
  ]);
  assert.match(
    log[1]?.note ?? "",
    /^It is IN_PROGRESS; only a COMPENSATION_FAILED saga can be retried$/,
  );
});

/**
 * Deadlines from `at` on for a command first sent at `at`, with the table's policy and no jitter:
 * 30 s, then 60 s (30 s × 2, at the 60 s cap) until the give-up horizon, which is the last.
 */
function deadlinesFrom(at: number, horizonMs: number): number[] {
  const deadlines = [at + policy.stepTimeoutMs];
  while (deadlines.at(-1)! < at + horizonMs) {
    deadlines.push(Math.min(deadlines.at(-1)! + 60_000, at + horizonMs));
  }
  return deadlines;
}

/** A DEADLINE_PASSED line at each deadline before the last: each re-sends the command. */
function resends(deadlines: number[], status: SagaStatus, send: EventType): Line[] {
  return deadlines.slice(0, -1).map((at, i) => ({
    event: "DEADLINE_PASSED",
    at,
    expect: { status, send, resent: true, deadlineInMs: deadlines[i + 1]! - at },
  }));
}

Deno.test("transition() re-sends an unanswered step under the same eventId, then completes when the reply comes", () => {
  const { state, log } = play([
    {
      event: "START",
      at: 0,
      expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY", deadlineInMs: 30_000 },
    },
    { event: "DEADLINE_PASSED", at: 29_999, expect: { status: "IN_PROGRESS", ignored: true } },
    {
      event: "DEADLINE_PASSED",
      at: 30_000,
      expect: {
        status: "IN_PROGRESS",
        send: "RESERVE_INVENTORY",
        resent: true,
        deadlineInMs: 60_000,
      },
    },
    {
      event: "DEADLINE_PASSED",
      at: 90_000,
      expect: {
        status: "IN_PROGRESS",
        send: "RESERVE_INVENTORY",
        resent: true,
        deadlineInMs: 60_000,
      },
    },
    // The participant was away; it answers the command it was sent three times, once.
    {
      event: "INVENTORY_RESERVED",
      at: 100_000,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT", deadlineInMs: 30_000 },
    },
    {
      event: "PAYMENT_PROCESSED",
      at: 100_010,
      expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" },
    },
    { event: "NOTIFICATION_SENT", at: 100_020, expect: { status: "COMPLETED" } },
  ]);
  assert.equal(state.failure, null);
  assert.deepEqual(log.map((t) => t.note).slice(2, 4), [
    "No reply to RESERVE_INVENTORY yet; re-sent (attempt 2)",
    "No reply to RESERVE_INVENTORY yet; re-sent (attempt 3)",
  ]);
});

Deno.test("transition() waits longer for each re-send, with the backoff's jitter and cap", () => {
  const lines: Line[] = [
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
  ];
  const { state: sent } = play(lines);
  const overdue = (jitter: number, at: number, given: Partial<SagaPolicy> = {}) =>
    transition({ ...sent, pending: { ...sent.pending!, deadlineAt: new Date(t0) } }, {
      type: "DEADLINE_PASSED",
    }, {
      definition: ORDER_SAGA,
      data: ORDER_SAGA.start.data(order),
      policy: { ...policy, ...given },
      now: new Date(t0.getTime() + at),
      commandId: "00000000-0000-4000-8000-0000000000ff",
      jitter,
    }).state.pending!;
  const waitOf = (pending: ReturnType<typeof overdue>, at: number) =>
    pending.deadlineAt.getTime() - t0.getTime() - at;
  assert.equal(waitOf(overdue(1, 30_000), 30_000), 72_000, "60 s + 20 %");
  assert.equal(waitOf(overdue(-1, 30_000), 30_000), 48_000, "60 s - 20 %");
  // A step timeout longer than the backoff's cap is the cap.
  assert.equal(waitOf(overdue(0, 90_000, { stepTimeoutMs: 90_000 }), 90_000), 90_000);
  // A re-send never waits past the horizon.
  assert.equal(waitOf(overdue(0, 590_000), 590_000), 10_000);
  assert.equal(overdue(0, 30_000).attempt, 2);
  assert.equal(overdue(0, 30_000).firstSentAt.getTime(), t0.getTime(), "the horizon stays");
});

Deno.test("transition() fails a payment unanswered for STEP_GIVE_UP as in doubt: refund first, then release", () => {
  const deadlines = deadlinesFrom(10, policy.stepGiveUpMs);
  const { state, log } = play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "INVENTORY_RESERVED",
      at: 10,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT", deadlineInMs: 30_000 },
    },
    { event: "DEADLINE_PASSED", at: 20_000, expect: { status: "IN_PROGRESS", ignored: true } },
    // No in-doubt failure before the horizon: only re-sends.
    ...resends(deadlines, "IN_PROGRESS", "PROCESS_PAYMENT"),
    {
      event: "DEADLINE_PASSED",
      at: deadlines.at(-1)! - 1,
      expect: { status: "IN_PROGRESS", ignored: true },
    },
    {
      event: "DEADLINE_PASSED",
      at: deadlines.at(-1)!,
      expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" },
    },
    {
      event: "PAYMENT_PROCESSED",
      at: deadlines.at(-1)! + 10,
      stale: true,
      expect: { status: "COMPENSATING", ignored: true },
    },
    {
      event: "PAYMENT_REFUNDED",
      at: deadlines.at(-1)! + 20,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: deadlines.at(-1)! + 30, expect: { status: "COMPENSATED" } },
  ]);
  assert.equal(deadlines.at(-1), 600_010, "the horizon is 10 min after the first send");
  assert.deepEqual(state.failure, {
    step: 1,
    code: "step_timeout",
    reason: `No reply to PROCESS_PAYMENT in 10 min (sent ${deadlines.length} times)`,
  });
  assert.equal(log.filter((t) => t.commands[0]?.eventType === "PROCESS_PAYMENT").length, 11);
});

Deno.test("transition() releases a reservation whose reply never came, once the horizon passed", () => {
  const { state } = play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "DEADLINE_PASSED",
      at: 30_000,
      expect: {
        status: "IN_PROGRESS",
        send: "RESERVE_INVENTORY",
        resent: true,
        deadlineInMs: 15_000,
      },
    },
    {
      event: "DEADLINE_PASSED",
      at: 45_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 45_001, expect: { status: "COMPENSATED" } },
  ], { stepGiveUpMs: 45_000 });
  assert.equal(state.failure?.code, "step_timeout");
  assert.equal(state.failure?.reason, "No reply to RESERVE_INVENTORY in 45 s (sent 2 times)");
});

Deno.test("transition() gives up at the horizon even when it is shorter than the step timeout", () => {
  const { state } = play([
    {
      event: "START",
      at: 0,
      expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY", deadlineInMs: 5_000 },
    },
    {
      event: "DEADLINE_PASSED",
      at: 5_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
  ], { stepGiveUpMs: 5_000 });
  assert.equal(state.failure?.reason, "No reply to RESERVE_INVENTORY in 5 s (sent once)");
});

Deno.test("transition() does not try to unsend a notification given up", () => {
  play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "INVENTORY_RESERVED",
      at: 1,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" },
    },
    {
      event: "PAYMENT_PROCESSED",
      at: 2,
      expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" },
    },
    {
      event: "DEADLINE_PASSED",
      at: 30_002,
      expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" },
    },
    {
      event: "PAYMENT_REFUNDED",
      at: 30_003,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 30_004, expect: { status: "COMPENSATED" } },
  ], { stepGiveUpMs: 30_000 });
});

Deno.test("transition() re-sends an unanswered compensation without using up its retries", () => {
  const { state, log } = play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "INVENTORY_RESERVED",
      at: 1,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" },
    },
    {
      event: "PAYMENT_FAILED",
      at: 2,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY", deadlineInMs: 30_000 },
    },
    // Inventory is away for minutes: far more deadlines than MAX_COMPENSATION_RETRIES (3).
    ...resends(
      deadlinesFrom(2, policy.compensationGiveUpMs).slice(0, 6),
      "COMPENSATING",
      "RELEASE_INVENTORY",
    ),
    // It answers with a failure: that one counts, and the retry is a new command.
    {
      event: "INVENTORY_RELEASE_FAILED",
      at: 300_000,
      expect: { status: "COMPENSATING", retryInMs: 1_000 },
    },
    {
      event: "RETRY_DUE",
      at: 301_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY", deadlineInMs: 30_000 },
    },
    {
      event: "DEADLINE_PASSED",
      at: 331_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY", resent: true },
    },
    { event: "INVENTORY_RELEASED", at: 332_000, expect: { status: "COMPENSATED" } },
  ]);
  assert.equal(state.retryCount, 0);
  assert.deepEqual(
    log.map((t) => t.state.retryCount),
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0],
    "only the failure reply counted, until the release succeeded",
  );
});

Deno.test("transition() stops a compensation unanswered for COMPENSATION_GIVE_UP in COMPENSATION_FAILED with an alert", () => {
  const giveUp = 24 * 3_600_000;
  const deadlines = deadlinesFrom(2, giveUp);
  const { state, log } = play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "INVENTORY_RESERVED",
      at: 1,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" },
    },
    {
      event: "PAYMENT_FAILED",
      at: 2,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    ...resends(deadlines, "COMPENSATING", "RELEASE_INVENTORY"),
    {
      event: "DEADLINE_PASSED",
      at: deadlines.at(-1)!,
      expect: { status: "COMPENSATION_FAILED", alert: true },
    },
    {
      event: "OPERATOR_RETRY",
      at: deadlines.at(-1)! + 1_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    {
      event: "INVENTORY_RELEASED",
      at: deadlines.at(-1)! + 2_000,
      expect: { status: "COMPENSATED" },
    },
  ]);
  assert.equal(deadlines.at(-1), giveUp + 2);
  const alert = log.find((t) => t.alert !== null)?.alert;
  assert.deepEqual(alert, {
    step: "ReleaseInventory",
    attempts: 1,
    code: "step_timeout",
    reason: `No reply to RELEASE_INVENTORY in 24 h (sent ${deadlines.length} times)`,
  });
  assert.equal(state.retryCount, 0);
});

Deno.test("transition() records and ignores duplicate, stale and unrelated replies", () => {
  play([
    { event: "START", expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", ignored: true } },
    { event: "INVENTORY_RESERVED", expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" } },
    { event: "INVENTORY_RESERVED", stale: true, expect: { status: "IN_PROGRESS", ignored: true } },
    {
      event: "INVENTORY_RESERVATION_FAILED",
      stale: true,
      expect: { status: "IN_PROGRESS", ignored: true },
    },
    { event: "PAYMENT_PROCESSED", expect: { status: "IN_PROGRESS", send: "SEND_NOTIFICATION" } },
    { event: "NOTIFICATION_SENT", expect: { status: "COMPLETED" } },
    { event: "NOTIFICATION_SENT", expect: { status: "COMPLETED", ignored: true } },
    { event: "NOTIFICATION_FAILED", expect: { status: "COMPLETED", ignored: true } },
    { event: "DEADLINE_PASSED", expect: { status: "COMPLETED", ignored: true } },
    { event: "START", expect: { status: "COMPLETED", ignored: true } },
  ]);
});

Deno.test("orderStatusOf() maps saga statuses to order statuses", () => {
  const expected: Record<SagaStatus, string> = {
    STARTED: "PENDING",
    IN_PROGRESS: "PENDING",
    COMPENSATING: "PENDING",
    COMPENSATION_FAILED: "PENDING",
    COMPLETED: "CONFIRMED",
    COMPENSATED: "CANCELLED",
    FAILED: "CANCELLED",
    CANCELLED: "CANCELLED",
  };
  for (const [status, orderStatus] of Object.entries(expected)) {
    assert.equal(orderStatusOf(status as SagaStatus), orderStatus, status);
  }
});
