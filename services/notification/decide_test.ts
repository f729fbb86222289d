import assert from "node:assert/strict";
import fc from "fast-check";
import { decideSend, isUndeliverableAddress, type StoredNotification } from "./decide.ts";

const order = "0f8fad5b-d9cb-469f-a165-70867728950e";
const [first, second] = [
  "aaaaaaaa-0000-4000-8000-000000000000",
  "bbbbbbbb-0000-4000-8000-000000000000",
];
const sent = (notificationId: string): StoredNotification => ({ notificationId, status: "SENT" });
const failed = (notificationId: string): StoredNotification => ({
  notificationId,
  status: "FAILED",
});

Deno.test("decideSend() sends a first confirmation to a deliverable address", () => {
  assert.deepEqual(decideSend(order, "ada@shop.example", []), { kind: "send" });
});

Deno.test("decideSend() refuses an address on the .invalid domain with its own code", () => {
  assert.deepEqual(decideSend(order, "ada@shop.invalid", []), {
    kind: "refuse",
    code: "undeliverable_address",
    reason:
      `Cannot send the confirmation of order "${order}": "ada@shop.invalid" is on the reserved .invalid domain`,
  });
});

Deno.test("decideSend() answers with the stored id when the order's confirmation was sent", () => {
  assert.deepEqual(decideSend(order, "ada@shop.example", [sent(first)]), {
    kind: "already-sent",
    notificationId: first,
  });
});

Deno.test("decideSend() answers with the oldest sent one, past earlier failures", () => {
  assert.deepEqual(
    decideSend(order, "ada@shop.example", [failed(second), sent(first), sent(second)]),
    { kind: "already-sent", notificationId: first },
  );
});

Deno.test("decideSend() tries again after failures when nothing was sent", () => {
  assert.deepEqual(decideSend(order, "ada@shop.example", [failed(first), failed(second)]), {
    kind: "send",
  });
});

Deno.test("decideSend() delivers an unanswered attempt again, and never one next to a sent one", () => {
  const sending = (notificationId: string): StoredNotification => ({
    notificationId,
    status: "SENDING",
  });
  assert.deepEqual(decideSend(order, "ada@shop.example", [failed(first), sending(second)]), {
    kind: "resume",
    notificationId: second,
  });
  assert.deepEqual(decideSend(order, "ada@shop.invalid", [sending(second)]), {
    kind: "resume",
    notificationId: second,
  });
  assert.equal(
    decideSend(order, "ada@shop.example", [sending(first), sent(second)]).kind,
    "already-sent",
  );
});

Deno.test("decideSend() does not resend a sent confirmation even to an address now undeliverable", () => {
  assert.equal(decideSend(order, "ada@shop.invalid", [sent(first)]).kind, "already-sent");
});

const undeliverable = [
  "ada@shop.invalid",
  "ada@SHOP.INVALID",
  "ada@shop.Invalid",
  "ada@shop.invalid.",
  "ada@a.b.c.invalid",
  "ada@invalid",
  "ada@INVALID.",
  " ada@shop.invalid ",
  '"odd@local"@x.invalid',
];
const deliverable = [
  "ada@shop.example",
  "ada@invalid.example",
  "ada@shop.invalidx",
  "ada@shopinvalid",
  "ada@shop-invalid",
  "ada@shop.invalid.example",
  "invalid@shop.example",
  '"x@y.invalid"@shop.example',
  "ada@shop.in-valid",
];
for (const address of undeliverable) {
  Deno.test(`isUndeliverableAddress() is true for "${address}"`, () => {
    assert.equal(isUndeliverableAddress(address), true);
  });
}
for (const address of deliverable) {
  Deno.test(`isUndeliverableAddress() is false for "${address}"`, () => {
    assert.equal(isUndeliverableAddress(address), false);
  });
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const localPart = fc.stringMatching(/^[a-zA-Z0-9._%+-]{1,20}$/);
const anyCase = (text: string) =>
  fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((upper) =>
    [...text].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("")
  );

Deno.test("isUndeliverableAddress() holds for any address under .invalid, in any case, with or without the trailing dot", () => {
  fc.assert(fc.property(
    localPart,
    fc.array(label, { maxLength: 4 }),
    anyCase("invalid"),
    fc.boolean(),
    (local, labels, tld, absolute) => {
      const address = `${local}@${[...labels, tld].join(".")}${absolute ? "." : ""}`;
      assert.equal(isUndeliverableAddress(address), true, address);
    },
  ));
});

Deno.test("isUndeliverableAddress() is false for any domain whose last label is not invalid", () => {
  fc.assert(fc.property(
    localPart,
    fc.array(label, { minLength: 1, maxLength: 4 }),
    fc.boolean(),
    (local, labels, absolute) => {
      fc.pre(labels.at(-1) !== "invalid");
      const address = `${local}@${labels.join(".")}${absolute ? "." : ""}`;
      assert.equal(isUndeliverableAddress(address), false, address);
    },
  ));
});

const stored = fc.array(
  fc.record({
    notificationId: fc.uuid(),
    status: fc.constantFrom("SENT" as const, "FAILED" as const),
  }),
  { maxLength: 5 },
);
const recipient = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((address) => `${address.split("@")[0]}@shop.invalid`),
);

Deno.test("decideSend() never sends twice, and never sends to an undeliverable address, for any history", () => {
  fc.assert(fc.property(recipient, stored, (to, history) => {
    const decision = decideSend(order, to, history);
    const firstSent = history.find((n) => n.status === "SENT");
    if (firstSent !== undefined) {
      assert.deepEqual(decision, {
        kind: "already-sent",
        notificationId: firstSent.notificationId,
      });
    } else if (isUndeliverableAddress(to)) {
      assert.equal(decision.kind === "refuse" && decision.code, "undeliverable_address");
    } else {
      assert.deepEqual(decision, { kind: "send" });
    }
  }));
});

Deno.test("decideSend() is deterministic: the same inputs give the same decision", () => {
  fc.assert(fc.property(recipient, stored, (to, history) => {
    assert.deepEqual(decideSend(order, to, history), decideSend(order, to, [...history]));
  }));
});
