import assert from "node:assert/strict";
import { InvalidArgumentError } from "@commander-js/extra-typings";
import {
  collectDlqRef,
  collectItem,
  collectStatuses,
  parseDlqRef,
  parseEmail,
  parseEventType,
  parseItem,
  parsePaymentMethod,
  parseRate,
  parseSince,
  parseTimeout,
  parseUuid,
  positiveInteger,
} from "./parse.ts";

function rejects(parse: () => unknown, message: RegExp): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, `got ${error}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

Deno.test("parseUuid() accepts a UUID in any case and returns it in lower case", () => {
  assert.equal(
    parseUuid(" 8A1F0C4E-0001-4000-8000-000000000001 "),
    "8a1f0c4e-0001-4000-8000-000000000001",
  );
  for (
    const bad of [
      "",
      "nope",
      "8a1f0c4e-0001-4000-8000-00000000000",
      "8a1f0c4e00014000800000000000000001",
    ]
  ) {
    rejects(() => parseUuid(bad), /^Expected a UUID such as /);
  }
});

Deno.test("parseItem() reads <productId|SKU>:<quantity>", () => {
  assert.deepEqual(parseItem("MUG-BLUE:2"), { product: { sku: "MUG-BLUE" }, quantity: 2 });
  assert.deepEqual(parseItem("mug-blue:1"), { product: { sku: "MUG-BLUE" }, quantity: 1 });
  assert.deepEqual(parseItem("8A1F0C4E-0001-4000-8000-000000000001:10000"), {
    product: { productId: "8a1f0c4e-0001-4000-8000-000000000001" },
    quantity: 10_000,
  });
});

Deno.test("parseItem() rejects malformed items with the expected shape in the message", () => {
  const cases: Array<[string, RegExp]> = [
    ["MUG-BLUE", /^Expected <productId\|SKU>:<quantity>, e\.g\. MUG-BLUE:2/],
    [":2", /^Expected <productId\|SKU>:<quantity>/],
    ["MUG-BLUE:0", /^The quantity must be a whole number from 1 to 10000 \(got "0"\)/],
    ["MUG-BLUE:-1", /^The quantity must be a whole number/],
    ["MUG-BLUE:1.5", /^The quantity must be a whole number/],
    ["MUG-BLUE:10001", /^The quantity must be a whole number/],
    ["MUG-BLUE:", /^The quantity must be a whole number/],
    ["8a1f0c4e-0001-4000:1", /^"8a1f0c4e-0001-4000" is not a valid product UUID/],
    ["mug blue:1", /^"mug blue" is not a UUID or SKU/],
  ];
  for (const [value, message] of cases) rejects(() => parseItem(value), message);
});

Deno.test("collectItem() accumulates repeated --item options", () => {
  const items = collectItem("BOOK-SAGAS:1", collectItem("MUG-BLUE:2", []));
  assert.deepEqual(items.map((i) => i.quantity), [2, 1]);
});

Deno.test("collectStatuses() accepts comma lists, repeats and any case, without duplicates", () => {
  assert.deepEqual(collectStatuses("completed, COMPENSATED"), ["COMPLETED", "COMPENSATED"]);
  assert.deepEqual(collectStatuses("failed", ["COMPLETED", "FAILED"]), ["COMPLETED", "FAILED"]);
  rejects(() => collectStatuses("DONE"), /^Unknown status "DONE": expected one of STARTED, /);
  rejects(() => collectStatuses(" , "), /^Expected at least one status/);
});

Deno.test("positiveInteger() accepts whole numbers from 1 to the maximum", () => {
  const parse = positiveInteger(100);
  assert.equal(parse("1"), 1);
  assert.equal(parse(" 100 "), 100);
  for (const bad of ["0", "101", "-1", "2.5", "ten", ""]) {
    rejects(() => parse(bad), /^Expected a whole number from 1 to 100$/);
  }
});

Deno.test("parseTimeout() reads durations up to an hour", () => {
  assert.equal(parseTimeout("30s"), 30_000);
  assert.equal(parseTimeout("500ms"), 500);
  assert.equal(parseTimeout("2m"), 120_000);
  assert.equal(parseTimeout("250"), 250);
  for (const bad of ["0s", "2h", "soon", "-1s"]) {
    rejects(() => parseTimeout(bad), /^Expected a duration from 1ms to 1h/);
  }
});

Deno.test("parseSince() reads a duration back from now or an ISO-8601 time", () => {
  const now = new Date("2026-01-31T12:00:00.000Z");
  assert.equal(parseSince("15m", now).toISOString(), "2026-01-31T11:45:00.000Z");
  assert.equal(parseSince("2h", now).toISOString(), "2026-01-31T10:00:00.000Z");
  assert.equal(parseSince("3d", now).toISOString(), "2026-01-28T12:00:00.000Z");
  assert.equal(parseSince("2026-01-30T08:00:00Z", now).toISOString(), "2026-01-30T08:00:00.000Z");
  for (const bad of ["yesterday", "1500", "2026-13-45"]) {
    rejects(() => parseSince(bad, now), /^Expected a duration back from now/);
  }
});

Deno.test("parseRate() reads n, n/s and n/m as operations per second", () => {
  assert.equal(parseRate("5"), 5);
  assert.equal(parseRate("5/s"), 5);
  assert.equal(parseRate("0.5/s"), 0.5);
  assert.equal(parseRate("30/m"), 0.5);
  for (const bad of ["0", "0/s", "fast", "5/h", "1001"]) {
    rejects(() => parseRate(bad), /^Expected a rate above 0 and at most 1000\/s/);
  }
});

Deno.test("parseDlqRef() reads <partition>:<offset> or a bare offset", () => {
  assert.deepEqual(parseDlqRef("3:17"), { partition: 3, offset: 17 });
  assert.deepEqual(parseDlqRef(" 0 : 0 "), { partition: 0, offset: 0 });
  assert.deepEqual(parseDlqRef("42"), { partition: null, offset: 42 });
  assert.deepEqual(collectDlqRef("1:2", collectDlqRef("0:1")), [
    { partition: 0, offset: 1 },
    { partition: 1, offset: 2 },
  ]);
  for (const bad of ["x:y", "3:", ":4", "-1", "1:2:3", "99999999999999999999"]) {
    rejects(() => parseDlqRef(bad), /^Expected <partition>:<offset> as dlq list shows it/);
  }
});

Deno.test("parsePaymentMethod(), parseEmail() and parseEventType() validate their values", () => {
  assert.equal(parsePaymentMethod("pm_card_refundFail"), "pm_card_refundFail");
  rejects(() => parsePaymentMethod("card_visa"), /^Expected a Stripe PaymentMethod id/);
  assert.equal(parseEmail(" erin@example.invalid "), "erin@example.invalid");
  rejects(() => parseEmail("erin@"), /^Expected an email address/);
  assert.equal(parseEventType("order_created"), "ORDER_CREATED");
  assert.equal(parseEventType("COMPENSATION_FAILED"), "COMPENSATION_FAILED");
  rejects(() => parseEventType("ORDER_SHIPPED"), /^Expected an event type of the contract/);
});
