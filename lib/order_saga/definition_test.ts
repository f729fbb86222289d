/**
 * Every path of DESIGN §4 through the real order saga definition, as given/expect scripts: each
 * line is an event and what the saga must do about it. No broker, no database.
 */
import assert from "node:assert/strict";
import {
  type EventType,
  type OrderCreated,
  orderTotalCents,
  ReserveInventory,
} from "../messages/mod.ts";
import {
  DEFAULT_BACKOFF,
  newSagaState,
  orderStatusOf,
  type SagaEvent,
  type SagaState,
  type SagaStatus,
  type Transition,
  transition,
} from "../saga/mod.ts";
import { ORDER_SAGA } from "./definition.ts";

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
const policy = { stepTimeoutMs: 30_000, maxCompensationRetries: 3, backoff: DEFAULT_BACKOFF };
const t0 = new Date("2026-01-01T00:00:00.000Z");

/** One line of a script: an event (a reply type, or a control event) and what must follow. */
type Line = {
  event: EventType | "START" | "TIMEOUT" | "RETRY_DUE" | `OPERATOR_RETRY`;
  /** Milliseconds after t0 at which it happens (default: the line number). */
  at?: number;
  /** Reply answering an earlier command than the pending one. */
  stale?: boolean;
  expect: {
    status: SagaStatus;
    send?: EventType;
    ignored?: boolean;
    retryInMs?: number;
    alert?: boolean;
  };
};

function play(lines: Line[]): { state: SagaState; log: Transition[] } {
  let state = newSagaState("55555555-5555-4555-8555-555555555555", order.orderId);
  const log: Transition[] = [];
  const commandIds: string[] = [];
  lines.forEach((line, index) => {
    const now = new Date(t0.getTime() + (line.at ?? index));
    const event = toEvent(line, state, commandIds);
    const commandId = `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`;
    const result = transition(state, event, {
      definition: ORDER_SAGA,
      data: order,
      policy,
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
    for (const command of result.commands) commandIds.push(command.eventId);
    if (result.outcome === "ignored") {
      assert.deepEqual(result.state, state, `${where}: ignored events change nothing`);
    }
    state = result.state;
    log.push(result);
  });
  return { state, log };
}

function toEvent(line: Line, state: SagaState, commandIds: string[]): SagaEvent {
  switch (line.event) {
    case "START":
      return { type: "START" };
    case "TIMEOUT":
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
        body: { reason: `${line.event} happened`, code: "test_code" },
      };
    }
  }
}

const LATE = 31_000;

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
  assert.equal(reserve?.topic, "inventory.commands");
  assert.deepEqual(pay?.body, {
    orderId: order.orderId,
    customerId: order.customerId,
    amountCents: 4498,
    currency: "usd",
    paymentMethod: "pm_card_visa",
  });
  assert.equal(pay?.topic, "payment.commands");
  assert.equal(notify?.topic, "notification.commands");
  assert.equal((notify?.body as { totalCents: number }).totalCents, orderTotalCents(order));
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
  assert.match(log[1]?.note ?? "", /this one is IN_PROGRESS/);
});

Deno.test("transition() compensates a timed-out payment as in doubt: refund first, then release", () => {
  play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    {
      event: "INVENTORY_RESERVED",
      at: 10,
      expect: { status: "IN_PROGRESS", send: "PROCESS_PAYMENT" },
    },
    { event: "TIMEOUT", at: 20_000, expect: { status: "IN_PROGRESS", ignored: true } },
    { event: "TIMEOUT", at: 10 + LATE, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    {
      event: "PAYMENT_PROCESSED",
      at: 20 + LATE,
      stale: true,
      expect: { status: "COMPENSATING", ignored: true },
    },
    {
      event: "PAYMENT_REFUNDED",
      at: 30 + LATE,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 40 + LATE, expect: { status: "COMPENSATED" } },
  ]);
});

Deno.test("transition() releases a reservation whose reply never came", () => {
  const { state } = play([
    { event: "START", at: 0, expect: { status: "IN_PROGRESS", send: "RESERVE_INVENTORY" } },
    { event: "TIMEOUT", at: LATE, expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" } },
    { event: "INVENTORY_RELEASED", at: LATE + 1, expect: { status: "COMPENSATED" } },
  ]);
  assert.equal(state.failure?.code, "step_timeout");
});

Deno.test("transition() does not try to unsend a notification that timed out", () => {
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
    { event: "TIMEOUT", at: 2 + LATE, expect: { status: "COMPENSATING", send: "REFUND_PAYMENT" } },
    {
      event: "PAYMENT_REFUNDED",
      at: 3 + LATE,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 4 + LATE, expect: { status: "COMPENSATED" } },
  ]);
});

Deno.test("transition() schedules a retry when a compensation's reply never comes", () => {
  play([
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
    { event: "TIMEOUT", at: 2 + LATE, expect: { status: "COMPENSATING", retryInMs: 1_000 } },
    {
      event: "RETRY_DUE",
      at: 2 + LATE + 1_000,
      expect: { status: "COMPENSATING", send: "RELEASE_INVENTORY" },
    },
    { event: "INVENTORY_RELEASED", at: 3 + LATE + 1_000, expect: { status: "COMPENSATED" } },
  ]);
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
    { event: "TIMEOUT", expect: { status: "COMPLETED", ignored: true } },
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
