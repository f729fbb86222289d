/**
 * A saga for the console's unit tests and previews: its refund failed until an operator retried
 * it, then it was compensated (the README's session, as data).
 */
import type { SagaStatus } from "../../lib/saga/mod.ts";
import type { OrderJson, SagaJson, TimelineJson } from "../saga_view.ts";
import type { SagaPageView } from "./pages.ts";

/** When the fixture saga started. */
export const FIXTURE_T0 = "2026-11-26T02:03:47.145Z";
const T0 = Date.parse(FIXTURE_T0);

function line(
  ms: number,
  eventType: string,
  from: SagaStatus | null,
  to: SagaStatus,
  step: string | null,
  note: string,
  actor = "orchestrator",
): TimelineJson {
  return {
    at: new Date(T0 + ms).toISOString(),
    fromStatus: from,
    toStatus: to,
    step,
    eventType,
    eventId: crypto.randomUUID(),
    outcome: "applied",
    actor,
    note,
  };
}

/** A saga whose refund failed three times, then was retried by an operator and compensated. */
export function refundFailedView(note = "an undeliverable address"): SagaPageView {
  const sagaId = "2ad0a99e-cc61-4643-81a7-3120dc80f4dd";
  const orderId = "106a6561-bb6b-43eb-ac6c-a9cf490ece9c";
  const timeline = [
    line(0, "ORDER_CREATED", "STARTED", "IN_PROGRESS", "ReserveInventory", "Saga started"),
    line(32, "INVENTORY_RESERVED", "IN_PROGRESS", "IN_PROGRESS", "ProcessPayment", "Reserved"),
    line(60, "PAYMENT_PROCESSED", "IN_PROGRESS", "IN_PROGRESS", "SendNotification", "Charged"),
    line(88, "NOTIFICATION_FAILED", "IN_PROGRESS", "COMPENSATING", "RefundPayment", note),
    line(113, "REFUND_FAILED", "COMPENSATING", "COMPENSATING", "RefundPayment", "retry 1"),
    line(1_280, "RETRY_DUE", "COMPENSATING", "COMPENSATING", "RefundPayment", "Retry 1", "sweeper"),
    line(1_310, "REFUND_FAILED", "COMPENSATING", "COMPENSATION_FAILED", "RefundPayment", "needed"),
    line(
      10_500,
      "OPERATOR_RETRY",
      "COMPENSATION_FAILED",
      "COMPENSATING",
      "RefundPayment",
      "Operator alice retried the compensation; sent REFUND_PAYMENT",
      "operator:alice",
    ),
    line(10_540, "PAYMENT_REFUNDED", "COMPENSATING", "COMPENSATING", "ReleaseInventory", "Ok"),
    line(10_560, "INVENTORY_RELEASED", "COMPENSATING", "COMPENSATED", "ReleaseInventory", "Done"),
  ];
  const saga: SagaJson = {
    sagaId,
    orderId,
    type: "order",
    status: "COMPENSATED",
    orderStatus: "CANCELLED",
    step: null,
    phase: null,
    completedSteps: 2,
    pendingCompensations: [],
    retryCount: 0,
    nextRetryAt: null,
    deadlineAt: null,
    failure: { step: "SendNotification", code: "undeliverable_address", reason: note },
    createdAt: timeline[0]!.at,
    updatedAt: timeline.at(-1)!.at,
  };
  const order: OrderJson = {
    orderId,
    customerId: "0c3d1d0e-1111-4000-8000-000000000001",
    customerEmail: "erin@example.invalid",
    paymentMethod: "pm_card_refundFail",
    currency: "usd",
    totalCents: 2_499,
    items: [{
      productId: "8a1f0c4e-0004-4000-8000-000000000004",
      quantity: 1,
      unitPriceCents: 2_499,
    }],
  };
  return {
    saga,
    order,
    timeline,
    products: new Map([["8a1f0c4e-0004-4000-8000-000000000004", {
      sku: "TEE-LOGO-M",
      name: "Logo T-shirt (M)",
    }]]),
    now: new Date(T0 + 11_000),
  };
}
