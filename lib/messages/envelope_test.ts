import assert from "node:assert/strict";
import { MalformedMessageError } from "../errors/mod.ts";
import { decodeMessage, encodeMessage, type WireRecord } from "./envelope.ts";
import type { OrderCreated } from "./bodies.ts";

const order: OrderCreated = {
  orderId: "0b6f2a52-6a83-4b55-9d8e-9a5d8f3f5c01",
  customerId: "7c1d8f0e-2f5b-4f7e-8c55-1f7d3a9b2e10",
  customerEmail: "ada@example.com",
  currency: "usd",
  paymentMethod: "pm_card_visa",
  items: [{ productId: "5a0c4e4b-1b7b-4b8e-9f3c-0d7a3c2e1f01", quantity: 2, unitPriceCents: 1999 }],
};
const sagaId = "3e0a5f3c-9d1b-4c8e-a7f2-6b5d4c3b2a10";

function orderRecord(overrides: Partial<WireRecord> = {}): WireRecord {
  return { ...encodeMessage({ eventType: "ORDER_CREATED", body: order }), ...overrides };
}

function assertMalformed(record: WireRecord, pattern: RegExp): void {
  assert.throws(() => decodeMessage(record), (error: unknown) => {
    assert.ok(error instanceof MalformedMessageError, `not malformed: ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("encodeMessage() keys the record by order id and routes it by event type", () => {
  const record = encodeMessage({
    eventType: "RELEASE_INVENTORY",
    body: { orderId: order.orderId },
    sagaId,
  });
  assert.equal(record.topic, "inventory.commands");
  assert.equal(record.key, order.orderId);
  const metadata = JSON.parse(record.headers.metadata ?? "");
  assert.equal(metadata.eventType, "RELEASE_INVENTORY");
  assert.equal(metadata.sagaId, sagaId);
  assert.equal(metadata.orderId, order.orderId);
  assert.match(metadata.eventId, /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(metadata.timestamp)));
});

Deno.test("encodeMessage() leaves sagaId out when there is none and gives each record a new eventId", () => {
  const first = JSON.parse(orderRecord().headers.metadata ?? "");
  const second = JSON.parse(orderRecord().headers.metadata ?? "");
  assert.equal("sagaId" in first, false);
  assert.notEqual(first.eventId, second.eventId);
});

Deno.test("encodeMessage() refuses a body that breaks its schema", () => {
  assert.throws(() => encodeMessage({ eventType: "ORDER_CREATED", body: { ...order, items: [] } }));
});

Deno.test("decodeMessage() returns the body and metadata that encodeMessage() wrote", () => {
  const eventId = crypto.randomUUID();
  const timestamp = new Date("2026-01-02T03:04:05.678Z");
  const decoded = decodeMessage(
    encodeMessage({
      eventType: "PAYMENT_FAILED",
      body: { orderId: order.orderId, reason: "Declined", code: "card_declined" },
      sagaId,
      eventId,
      timestamp,
    }),
  );
  assert.equal(decoded.eventType, "PAYMENT_FAILED");
  assert.deepEqual(decoded.body, {
    orderId: order.orderId,
    reason: "Declined",
    code: "card_declined",
  });
  assert.deepEqual(decoded.metadata, {
    eventType: "PAYMENT_FAILED",
    eventId,
    sagaId,
    orderId: order.orderId,
    timestamp: timestamp.toISOString(),
  });
});

Deno.test("decodeMessage() accepts an address on the reserved .invalid domain (delivery decides)", () => {
  const decoded = decodeMessage(orderRecord({
    value: JSON.stringify({ ...order, customerEmail: "nobody@example.invalid" }),
  }));
  assert.equal(decoded.eventType, "ORDER_CREATED");
});

const malformedCases: Array<
  [string, Partial<WireRecord> | ((r: WireRecord) => WireRecord), RegExp]
> = [
  ["the value is not JSON", { value: "{not json" }, /record value is not JSON/],
  ["the value is empty", { value: null }, /Empty record value/],
  ["the metadata header is missing", { headers: {} }, /Missing header metadata/],
  [
    "the metadata header is not JSON",
    { headers: { metadata: "eventType=ORDER_CREATED" } },
    /header metadata is not JSON/,
  ],
  [
    "the eventType is unknown",
    (r) => withMetadata(r, { eventType: "ORDER_EXPLODED" }),
    /Unknown eventType "ORDER_EXPLODED"/,
  ],
  ["the eventId is not a UUID", (r) => withMetadata(r, { eventId: "42" }), /eventId/],
  [
    "the timestamp is not ISO-8601",
    (r) => withMetadata(r, { timestamp: "yesterday" }),
    /timestamp/,
  ],
  ["a quantity is zero", {
    value: JSON.stringify({ ...order, items: [{ ...order.items[0], quantity: 0 }] }),
  }, /items\.0\.quantity/],
  ["a quantity is negative", {
    value: JSON.stringify({ ...order, items: [{ ...order.items[0], quantity: -3 }] }),
  }, /items\.0\.quantity/],
  [
    "a field has the wrong type",
    { value: JSON.stringify({ ...order, items: "two widgets" }) },
    /items/,
  ],
  [
    "the event travels on the wrong topic",
    { topic: "payment.commands" },
    /does not belong on topic "payment\.commands"/,
  ],
  ["the key is another order", { key: crypto.randomUUID() }, /Order id mismatch/],
  ["a quantity is over 10,000", {
    value: JSON.stringify({ ...order, items: [{ ...order.items[0], quantity: 100_000_000 }] }),
  }, /items\.0\.quantity: over the limit of 10000 units per line/],
  ["a unit price is over 99,999,999 cents", {
    value: JSON.stringify({ ...order, items: [{ ...order.items[0], unitPriceCents: 2 ** 53 }] }),
  }, /items\.0\.unitPriceCents: over the limit of 99999999 cents per unit/],
  ["a unit price is zero", {
    value: JSON.stringify({ ...order, items: [{ ...order.items[0], unitPriceCents: 0 }] }),
  }, /items\.0\.unitPriceCents: under the limit of 1 cent per unit/],
  ["an order has 101 lines", {
    value: JSON.stringify({ ...order, items: Array(101).fill(order.items[0]) }),
  }, /items: over the limit of 100 lines per order/],
  ["the order total is over 99,999,999 cents", {
    value: JSON.stringify({
      ...order,
      items: [{ ...order.items[0], quantity: 10_000, unitPriceCents: 10_000 }],
    }),
  }, /order total of 100000000 cents is over the limit of 99999999 cents/],
  ["the record value is over 256 KiB", {
    value: JSON.stringify({ ...order, padding: "x".repeat(256 * 1024) }),
  }, /Record value of 262\d{3} bytes is over the limit of 262144 bytes/],
  [
    "a reply lacks its sagaId",
    (r) =>
      withMetadata({
        ...r,
        topic: "inventory.replies",
        value: JSON.stringify({ orderId: order.orderId }),
      }, { eventType: "INVENTORY_RESERVED" }),
    /lacks sagaId/,
  ],
];

for (const [when, change, pattern] of malformedCases) {
  Deno.test(`decodeMessage() throws MalformedMessageError when ${when}`, () => {
    const base = orderRecord();
    assertMalformed(typeof change === "function" ? change(base) : { ...base, ...change }, pattern);
  });
}

function withMetadata(record: WireRecord, patch: Record<string, unknown>): WireRecord {
  const metadata = { ...JSON.parse(record.headers.metadata ?? ""), ...patch };
  return { ...record, headers: { metadata: JSON.stringify(metadata) } };
}
