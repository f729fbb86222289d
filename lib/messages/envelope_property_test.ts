/**
 * Properties of the decoder as other producers exercise it: any valid record, whatever the
 * letter case of its ids, the order of its fields or the unknown fields it carries, decodes to
 * the one canonical message; anything past a limit of the contract is refused naming it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { MalformedMessageError } from "../errors/mod.ts";
import { type OrderCreated, orderTotalCents } from "./bodies.ts";
import { decodeMessage, type WireRecord } from "./envelope.ts";
import { LIMITS } from "./limits.ts";

/** A lower-case UUID the contract accepts (RFC 9562 versions 1-8, variant 10xx). */
const uuid = fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8] });

/** Lines whose total stays inside the limit: the largest order at any line count. */
const items = fc.integer({ min: 1, max: LIMITS.linesPerOrder }).chain((lines) =>
  fc.array(
    fc.record({
      productId: uuid,
      quantity: fc.integer({ min: LIMITS.quantityPerLine.min, max: LIMITS.quantityPerLine.max }),
      unitPriceCents: fc.integer({
        min: LIMITS.unitPriceCents.min,
        max: Math.floor(LIMITS.orderTotalCents / lines / LIMITS.quantityPerLine.max),
      }),
    }, { noNullPrototype: true }),
    { minLength: lines, maxLength: lines },
  )
);

const order: fc.Arbitrary<OrderCreated> = fc.record({
  orderId: uuid,
  customerId: uuid,
  customerEmail: fc.constantFrom("ada@example.com", "Grace.Hopper+orders@Example.ORG"),
  currency: fc.constantFrom("usd", "eur", "jpy"),
  paymentMethod: fc.constantFrom("pm_card_visa", "pm_card_chargeDeclined"),
  items,
}, { noNullPrototype: true });

/** How another producer may write the same record: the knobs of {@linkcode variant}. */
interface Spelling {
  /** One flag per character of every id: upper-case it. */
  upper: boolean[];
  /** A seed for the order of fields in every object. */
  shuffle: number;
  /** Fields the contract does not know, added to every object. */
  extra: Record<string, fc.JsonValue>;
}

const spelling: fc.Arbitrary<Spelling> = fc.record({
  upper: fc.array(fc.boolean(), { minLength: 36, maxLength: 36 }),
  shuffle: fc.nat(),
  extra: fc.dictionary(
    fc.string({ minLength: 1, maxLength: 8 }).map((k) => `x-${k}`),
    fc.jsonValue({ maxDepth: 2 }),
    {
      maxKeys: 3,
    },
  ),
});

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `value` as another producer may spell it: ids re-cased, fields reordered, unknown ones added. */
function variant(value: unknown, how: Spelling): unknown {
  if (typeof value === "string" && UUID_PATTERN.test(value)) {
    return [...value].map((c, i) => how.upper[i] ? c.toUpperCase() : c).join("");
  }
  if (Array.isArray(value)) return value.map((entry) => variant(entry, how));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).map(([k, v]) => [k, variant(v, how)] as const);
  const rotated = entries.map((_, i) => entries[(i + how.shuffle) % entries.length]!);
  return Object.fromEntries([...rotated.reverse(), ...Object.entries(how.extra)]);
}

function orderRecord(body: unknown, metadata: unknown, key: string): WireRecord {
  return {
    topic: "orders",
    key,
    value: JSON.stringify(body),
    headers: { metadata: JSON.stringify(metadata) },
  };
}

function metadataOf(body: OrderCreated, eventId: string) {
  return {
    eventType: "ORDER_CREATED",
    eventId,
    orderId: body.orderId,
    timestamp: "2026-12-01T10:00:00.000Z",
  };
}

Deno.test("decodeMessage() gives one canonical message for any case, field order and unknown fields", () => {
  fc.assert(
    fc.property(order, uuid, spelling, (body, eventId, how) => {
      const canonical = decodeMessage(orderRecord(body, metadataOf(body, eventId), body.orderId));
      const spelled = decodeMessage(
        orderRecord(
          variant(body, how),
          variant(metadataOf(body, eventId), how),
          variant(body.orderId, how) as string,
        ),
      );
      assert.deepEqual(spelled, canonical);
      assert.deepEqual(canonical.body, body, "unknown fields are dropped, known ones kept");
      assert.equal(spelled.metadata.eventId, eventId);
    }),
    { numRuns: 300 },
  );
});

Deno.test("decodeMessage() refuses any order past a limit and names the limit", () => {
  const overLimit = fc.oneof(
    fc.integer({ min: LIMITS.quantityPerLine.max + 1, max: Number.MAX_SAFE_INTEGER }).map((
      quantity,
    ) => ({ change: { quantity }, limit: /units per line/ })),
    fc.integer({ min: LIMITS.unitPriceCents.max + 1, max: Number.MAX_SAFE_INTEGER }).map((
      unitPriceCents,
    ) => ({ change: { unitPriceCents }, limit: /cents per unit/ })),
    fc.integer({ min: 1_000, max: LIMITS.quantityPerLine.max }).map((quantity) => ({
      change: { quantity, unitPriceCents: Math.ceil((LIMITS.orderTotalCents + 1) / quantity) },
      limit: /order total of \d+ cents is over the limit/,
    })),
  );
  fc.assert(
    fc.property(order, uuid, overLimit, (body, eventId, { change, limit }) => {
      const broken = { ...body, items: [{ ...body.items[0]!, ...change }, ...body.items.slice(1)] };
      assert.ok(orderTotalCents(broken) > 0);
      assert.throws(
        () => decodeMessage(orderRecord(broken, metadataOf(body, eventId), body.orderId)),
        (error: unknown) => error instanceof MalformedMessageError && limit.test(error.message),
      );
    }),
    { numRuns: 200 },
  );
});
