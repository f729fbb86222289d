import assert from "node:assert/strict";
import { decodeMessage, encodeMessage } from "../messages/mod.ts";
import { NIL_UUID, refusalAlert } from "./refused.ts";

const ORDER = "11111111-1111-4111-8111-111111111111";
const SAGA = "22222222-2222-4222-8222-222222222222";
const REASON = "Kafka refused the record for good: MESSAGE_TOO_LARGE";

Deno.test("refusalAlert() describes the refused record for orders.dlq, without its value", () => {
  const refused = encodeMessage({
    eventType: "PAYMENT_FAILED",
    body: { orderId: ORDER, reason: "é".repeat(1_000), code: "card_declined" },
    sagaId: SAGA,
  });
  const alert = refusalAlert({ ...refused, id: "42" }, { schema: "payment", reason: REASON });
  const message = decodeMessage(alert);
  assert.equal(alert.topic, "orders.dlq");
  assert.equal(alert.key, ORDER);
  assert.equal(message.eventType, "OUTBOX_RECORD_REFUSED");
  assert.equal(message.metadata.sagaId, SAGA);
  assert.deepEqual(message.body, {
    orderId: ORDER,
    schema: "payment",
    outboxId: "42",
    topic: "payment.replies",
    eventType: "PAYMENT_FAILED",
    eventId: JSON.parse(refused.headers.metadata!).eventId,
    bytes: new TextEncoder().encode(refused.value!).length,
    reason: REASON,
  });
  assert.ok(!alert.value!.includes("éé"), "the refused value stays in the outbox");
});

Deno.test("refusalAlert() falls back to the key, then to the nil UUID, for a record without metadata", () => {
  const row = { id: "7", topic: "orders", key: ORDER, value: null, headers: {} };
  const byKey = decodeMessage(refusalAlert(row, { schema: "orchestrator", reason: REASON }));
  assert.equal(byKey.body.orderId, ORDER);
  assert.equal(byKey.metadata.sagaId, NIL_UUID);
  assert.deepEqual(
    [
      (byKey.body as { eventType: unknown }).eventType,
      (byKey.body as { eventId: unknown }).eventId,
      (byKey.body as { bytes: unknown }).bytes,
    ],
    [null, null, 0],
  );
  const bare = refusalAlert({ ...row, key: "k", headers: { metadata: "not json" } }, {
    schema: "orchestrator",
    reason: REASON,
  });
  assert.equal(decodeMessage(bare).body.orderId, NIL_UUID);
});
