import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { IHeaders } from "kafkajs";
import { describeDlqRecord, printRecord, resolveRefs } from "./dlq_view.ts";
import type { TopicRecord } from "./dlq_reader.ts";
import { UsageError } from "./errors.ts";
import { printer } from "./output.ts";

const ORDER = "11111111-1111-4111-8111-111111111111";
const SAGA = "22222222-2222-4222-8222-222222222222";

function record(
  headers: IHeaders,
  value: string | null,
  at = { partition: 3, offset: 17 },
): TopicRecord {
  return {
    ...at,
    timestamp: Date.parse("2026-01-31T12:00:00.000Z"),
    message: {
      key: Buffer.from(ORDER),
      value: value === null ? null : Buffer.from(value),
      headers,
      offset: String(at.offset),
      timestamp: String(Date.parse("2026-01-31T12:00:00.000Z")),
      attributes: 0,
    },
  };
}

Deno.test("describeDlqRecord() reads a dead letter's dlq-* headers and metadata", () => {
  const metadata = JSON.stringify({ eventType: "ORDER_CREATED", orderId: ORDER });
  const described = describeDlqRecord(record({
    metadata: Buffer.from(metadata),
    "dlq-error": Buffer.from("Invalid ORDER_CREATED body: items: Required"),
    "dlq-source-topic": "orders",
    "dlq-source-partition": "4",
    "dlq-source-offset": "99",
    "dlq-failed-at": "2026-01-31T11:59:59.000Z",
  }, '{"orderId":"x"}'));
  assert.deepEqual(described, {
    ref: "3:17",
    partition: 3,
    offset: 17,
    timestamp: "2026-01-31T12:00:00.000Z",
    kind: "dead-letter",
    eventType: "ORDER_CREATED",
    orderId: ORDER,
    sagaId: null,
    key: ORDER,
    source: { topic: "orders", partition: 4, offset: 99 },
    error: "Invalid ORDER_CREATED body: items: Required",
    failedAt: "2026-01-31T11:59:59.000Z",
    replay: null,
    headers: {
      metadata,
      "dlq-error": "Invalid ORDER_CREATED body: items: Required",
      "dlq-source-topic": "orders",
      "dlq-source-partition": "4",
      "dlq-source-offset": "99",
      "dlq-failed-at": "2026-01-31T11:59:59.000Z",
    },
    value: '{"orderId":"x"}',
  });
});

Deno.test("describeDlqRecord() tells a COMPENSATION_FAILED alert from a dead letter", () => {
  const body = {
    orderId: ORDER,
    sagaId: SAGA,
    step: "RefundPayment",
    attempts: 4,
    reason: "Refund failed",
    code: "expired_or_canceled_card",
  };
  const described = describeDlqRecord(record({
    metadata: JSON.stringify({
      eventType: "COMPENSATION_FAILED",
      sagaId: SAGA,
      orderId: ORDER,
      timestamp: "2026-01-31T12:00:00.000Z",
    }),
  }, JSON.stringify(body)));
  assert.equal(described.kind, "alert");
  assert.equal(described.source, null);
  assert.equal(described.sagaId, SAGA);
  assert.equal(
    described.error,
    "RefundPayment failed 4 time(s) (expired_or_canceled_card): Refund failed",
  );
});

Deno.test("describeDlqRecord() reads an OUTBOX_RECORD_REFUSED alert", () => {
  const body = {
    orderId: ORDER,
    schema: "payment",
    outboxId: "42",
    topic: "payment.replies",
    eventType: "PAYMENT_FAILED",
    eventId: "33333333-3333-4333-8333-333333333333",
    bytes: 1_100_070,
    reason: "Kafka refused the record for good: MESSAGE_TOO_LARGE",
  };
  const described = describeDlqRecord(record({
    metadata: JSON.stringify({
      eventType: "OUTBOX_RECORD_REFUSED",
      sagaId: SAGA,
      orderId: ORDER,
      timestamp: "2026-01-31T12:00:00.000Z",
    }),
  }, JSON.stringify(body)));
  assert.equal(described.kind, "alert");
  assert.equal(described.source, null);
  assert.equal(described.orderId, ORDER);
  assert.equal(
    described.error,
    "PAYMENT_FAILED for payment.replies (1100070 bytes) set aside in payment.outbox row 42: Kafka refused the record for good: MESSAGE_TOO_LARGE",
  );
  const lines: string[] = [];
  printRecord(printer((text) => lines.push(text), false), described, {
    now: new Date("2026-01-31T12:05:00.000Z"),
    topic: "orders.dlq",
  });
  const text = lines.join("");
  assert.match(
    text,
    /Kind\s+OUTBOX_RECORD_REFUSED alert \(an operator is needed; not replayable\)/,
  );
  assert.match(text, /The refused record is set aside in payment\.outbox, row 42/);
  assert.doesNotMatch(text, /sagactl saga retry|sagactl dlq replay/);
});

Deno.test("describeDlqRecord() shows a record of an event type it does not know as a dead letter", () => {
  const described = describeDlqRecord(record({
    metadata: JSON.stringify({ eventType: "SOMETHING_NEW", orderId: ORDER }),
  }, JSON.stringify({ orderId: ORDER, reason: "whatever" })));
  assert.equal(described.kind, "dead-letter");
  assert.equal(described.eventType, "SOMETHING_NEW");
  assert.equal(described.error, null);
  assert.equal(described.orderId, ORDER);
});

Deno.test("describeDlqRecord() copes with a record without metadata or value", () => {
  const described = describeDlqRecord(record({ "dlq-error": "Missing header metadata" }, null));
  assert.equal(described.kind, "dead-letter");
  assert.equal(described.eventType, null);
  assert.equal(described.orderId, ORDER, "the key, when it is a UUID");
  assert.equal(described.source, null);
  assert.equal(described.value, null);
});

Deno.test("resolveRefs() checks offsets against the partitions and resolves bare offsets", () => {
  const marks = [
    { partition: 0, low: 0, high: 5 },
    { partition: 1, low: 3, high: 4 },
    { partition: 2, low: 0, high: 0 },
  ];
  assert.deepEqual(
    resolveRefs([{ partition: 1, offset: 3 }, { partition: null, offset: 4 }], marks, "orders.dlq"),
    [{ partition: 1, offset: 3 }, { partition: 0, offset: 4 }],
  );
  assert.throws(
    () => resolveRefs([{ partition: 0, offset: 5 }], marks, "orders.dlq"),
    /^Error: Cannot find orders\.dlq 0:5: partition 0 holds offsets 0 to 4$/,
  );
  assert.throws(
    () => resolveRefs([{ partition: 2, offset: 0 }], marks, "orders.dlq"),
    /partition 2 holds no records/,
  );
  assert.throws(
    () => resolveRefs([{ partition: 7, offset: 0 }], marks, "orders.dlq"),
    /the topic has partitions 0 to 2/,
  );
  assert.throws(
    () => resolveRefs([{ partition: null, offset: 3 }], marks, "orders.dlq"),
    (error: unknown) =>
      error instanceof UsageError &&
      /Offset 3 is ambiguous: partitions 0, 1 all hold it; write it as <partition>:<offset>, e\.g\. 0:3/
        .test(error.message),
  );
  assert.throws(
    () => resolveRefs([{ partition: null, offset: 9 }], marks, "orders.dlq"),
    /Cannot find orders\.dlq offset 9 in any partition/,
  );
});
