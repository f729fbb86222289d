import assert from "node:assert/strict";
import type { SagaStatus } from "../../lib/saga/mod.ts";
import { sagaEvent } from "../../testing/saga_events.ts";
import { statusUpdates } from "./observers.ts";

/** An event of saga `sagaId`, of the order `order-of-<sagaId>`. */
const decided = (sagaId: string, status: SagaStatus, outcome?: "applied" | "ignored") =>
  sagaEvent(sagaId, `order-of-${sagaId}`, status, outcome);

Deno.test("statusUpdates() gives each saga's status at the commit: its last applied event, with its version", () => {
  const at = new Date("2026-12-01T12:00:00Z");
  const updates = statusUpdates(
    [
      decided("a", "IN_PROGRESS"),
      decided("b", "IN_PROGRESS"),
      decided("a", "COMPLETED"),
      decided("a", "COMPENSATING", "ignored"), // a late reply: changes nothing
      decided("c", "FAILED", "ignored"),
    ],
    new Map([["a", 12], ["b", 9]]),
    at,
  );
  assert.deepEqual(updates, [
    {
      sagaId: "a",
      orderId: "order-of-a",
      status: "COMPLETED",
      step: "ProcessPayment",
      note: "applied to COMPLETED",
      updatedAt: "2026-12-01T12:00:00.000Z",
      version: 12,
    },
    {
      sagaId: "b",
      orderId: "order-of-b",
      status: "IN_PROGRESS",
      step: "ProcessPayment",
      note: "applied to IN_PROGRESS",
      updatedAt: "2026-12-01T12:00:00.000Z",
      version: 9,
    },
  ]);
});

Deno.test("statusUpdates() leaves the version out when the saga has none, and gives nothing for no applied event", () => {
  const at = new Date();
  const [update, ...more] = statusUpdates([decided("a", "IN_PROGRESS")], new Map(), at);
  assert.equal(more.length, 0);
  assert.equal(update?.status, "IN_PROGRESS");
  assert.equal("version" in update!, false);
  assert.deepEqual(statusUpdates([decided("a", "FAILED", "ignored")], new Map(), at), []);
  assert.deepEqual(statusUpdates([], new Map(), at), []);
});
