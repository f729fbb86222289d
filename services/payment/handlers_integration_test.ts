/**
 * The payment handlers against real Kafka, a fresh PostgreSQL database and an in-process Stripe
 * test server reached through the real SDK. The test server's ledger is the truth for money.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { waitFor } from "../../lib/async/mod.ts";
import { encodeMessage, TOPICS } from "../../lib/messages/mod.ts";
import { createCommandConsumer } from "../../lib/participant/mod.ts";
import type { ConsumedRecord } from "../../lib/kafka/records.ts";
import {
  type ServedStripeTestServer,
  serveStripeTestServer,
} from "../../testing/stripe_test_server/mod.ts";
import { DLQ_HEADERS } from "../../lib/kafka/dlq.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed, readRecords } from "../../testing/kafka.ts";
import { capturingLogger, handledLines } from "../../testing/log.ts";
import { replyTypes, withParticipant } from "../../testing/participant.ts";
import type { ParticipantHarness } from "../../testing/participant.ts";
import { startFollower } from "./follower.ts";
import { createPaymentCommands } from "./handlers.ts";
import { createStripeClient, createStripeGateway, type PaymentGateway } from "./stripe_gateway.ts";

interface PaymentHarness extends ParticipantHarness {
  stripe: ServedStripeTestServer;
  registry: Registry;
  /** Moves the Stripe test server's clock on: asynchronous outcomes due by then are final. */
  advanceStripeClock(ms: number): void;
}

/**
 * The payment service as it runs: its commands and its follower (reading every 50 ms, at most
 * 200 ms apart). The Stripe test server's asynchronous outcomes wait an hour on its own clock,
 * so a test decides when they become final (`advanceStripeClock`).
 */
async function withPayment(
  fn: (harness: PaymentHarness) => Promise<void>,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  let offsetMs = 0;
  await using stripe = serveStripeTestServer({
    port: 0,
    asyncDelayMs: 3_600_000,
    now: () => new Date(Date.now() + offsetMs),
  });
  const registry = new Registry();
  const client = createStripeClient({
    apiKey: "sk_test_payment_integration",
    host: stripe.hostname,
    port: stripe.port,
    protocol: "http",
    timeoutMs: options.timeoutMs ?? 10_000,
    local: true,
  }, { maxNetworkRetries: 0 });
  const gateway = createStripeGateway(client, { metrics: { registry } });
  await withParticipant({
    name: "payment",
    schema: "payment",
    commandTopic: TOPICS.paymentCommands,
    replyTopic: TOPICS.paymentReplies,
    commands: createPaymentCommands({ gateway }),
    alongside(runtime, participant) {
      const follower = startFollower({
        sql: runtime.sql,
        log: runtime.log,
        gateway,
        resumeAwaiting: (orderIds) => participant.resumeAwaiting(orderIds),
        intervalMs: 50,
        maxIntervalMs: 200,
      });
      runtime.onClose(() => follower.stop());
    },
  }, (harness) =>
    fn({
      ...harness,
      stripe,
      registry,
      advanceStripeClock: (ms) => void (offsetMs += ms),
    }));
}

function charge(orderId: string, paymentMethod: string, amountCents = 4250) {
  return {
    eventType: "PROCESS_PAYMENT" as const,
    body: { orderId, customerId: crypto.randomUUID(), amountCents, currency: "usd", paymentMethod },
  };
}

function refund(orderId: string) {
  return { eventType: "REFUND_PAYMENT" as const, body: { orderId } };
}

function bodyOf(record: ConsumedRecord | undefined): Record<string, unknown> {
  return JSON.parse(record!.value!);
}

function metadataOf(record: ConsumedRecord | undefined): Record<string, unknown> {
  return JSON.parse(record!.headers.metadata!);
}

/** Money Stripe moved for the order: the test server's ledger, zero when it never charged. */
function ledger(harness: PaymentHarness, orderId: string) {
  return harness.stripe.server.ledger().orders[orderId] ??
    { orderId, chargedCents: 0, refundedCents: 0, charges: 0, refunds: 0 };
}

async function payments(harness: PaymentHarness, orderId: string) {
  return [
    ...await harness.runtime.sql<{ status: string; amount_cents: string }[]>`
      select status, amount_cents from payment.payments where order_id = ${orderId}`,
  ];
}

async function refundRows(harness: PaymentHarness, orderId: string) {
  return [
    ...await harness.runtime.sql<{ status: string; failure_reason: string | null }[]>`
      select status, failure_reason from payment.refunds where order_id = ${orderId} order by id`,
  ];
}

Deno.test("payment charges pm_card_visa once and replies PAYMENT_PROCESSED", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    const eventId = await harness.send({ ...charge(orderId, "pm_card_visa", 4250), sagaId });
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_PROCESSED"]);
    const [intent] = harness.stripe.server.records().paymentIntents;
    assert.deepEqual(bodyOf(reply), { orderId, paymentIntentId: intent!.id, amountCents: 4250 });
    assert.equal(metadataOf(reply).causationId, eventId);
    assert.equal(metadataOf(reply).sagaId, sagaId);
    assert.deepEqual(intent!.metadata, { orderId, sagaId });
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 4250,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
    assert.deepEqual(await payments(harness, orderId), [{
      status: "SUCCEEDED",
      amount_cents: "4250",
    }]);
  });
});

Deno.test("payment replies PAYMENT_FAILED with the decline code for both declining cards, charging nothing", async () => {
  await withPayment(async (harness) => {
    const cases = [
      ["pm_card_chargeDeclined", "generic_decline", "Your card was declined."],
      ["pm_card_insufficientFunds", "insufficient_funds", "Your card has insufficient funds."],
    ] as const;
    for (const [card, code, reason] of cases) {
      const orderId = crypto.randomUUID();
      await harness.send(charge(orderId, card));
      const [reply] = await harness.replies(orderId, 1);
      assert.deepEqual(replyTypes([reply!]), ["PAYMENT_FAILED"], card);
      assert.deepEqual(bodyOf(reply), { orderId, code, reason });
      assert.equal(ledger(harness, orderId).chargedCents, 0);
      assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["DECLINED"]);
    }
    assert.equal(harness.stripe.server.ledger().totals.charges, 0);
  });
});

Deno.test("payment replies PAYMENT_FAILED for an unknown payment method, as a business failure", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_doesNotExist"));
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_FAILED"]);
    assert.equal(bodyOf(reply).code, "resource_missing");
  });
});

Deno.test("payment answers a PROCESS_PAYMENT delivered 5 times 5 times, from its record, and Stripe charges once", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    const eventId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    const command = { ...charge(orderId, "pm_card_visa", 1999), eventId, sagaId };
    for (let i = 0; i < 5; i++) await harness.send(command);
    // A charge under another command id afterwards proves the five were handled (replies come
    // in order per order id), and is answered from the stored payment, without a second charge.
    const againId = await harness.send({ ...charge(orderId, "pm_card_visa", 1999), sagaId });
    const replies = await harness.replies(orderId, 6);
    assert.deepEqual(replyTypes(replies), Array(6).fill("PAYMENT_PROCESSED"));
    assert.deepEqual(replies.map((r) => metadataOf(r).causationId), [
      ...Array(5).fill(eventId),
      againId,
    ]);
    for (const reply of replies.slice(1)) assert.deepEqual(bodyOf(reply), bodyOf(replies[0]));
    assert.equal(new Set(replies.map((r) => metadataOf(r).eventId)).size, 6, "fresh reply ids");
    assert.equal(ledger(harness, orderId).charges, 1);
    assert.equal(ledger(harness, orderId).chargedCents, 1999);
    assert.equal(harness.stripe.server.records().paymentIntents.length, 1);
    assert.equal((await payments(harness, orderId)).length, 1);
    const [{ outbox, processed }] = await harness.runtime.sql`
      select (select count(*)::int from payment.outbox) as outbox,
             (select count(*)::int from payment.processed_messages) as processed` as unknown as [
      { outbox: number; processed: number },
    ];
    assert.deepEqual({ outbox, processed }, { outbox: 6, processed: 2 });
  });
});

Deno.test("payment refunds a charge in full, and answers a repeated refund without refunding again", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_visa", 3000));
    await harness.send(refund(orderId));
    await harness.send(refund(orderId));
    const replies = await harness.replies(orderId, 3);
    assert.deepEqual(replyTypes(replies), [
      "PAYMENT_PROCESSED",
      "PAYMENT_REFUNDED",
      "PAYMENT_REFUNDED",
    ]);
    const [refunded] = harness.stripe.server.records().refunds;
    assert.deepEqual(bodyOf(replies[1]), { orderId, refundId: refunded!.id, amountCents: 3000 });
    assert.deepEqual(bodyOf(replies[2]), bodyOf(replies[1]));
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 3000,
      refundedCents: 3000,
      charges: 1,
      refunds: 1,
    });
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["REFUNDED"]);
  });
});

Deno.test("payment dead-letters a refund that names another saga than the order's, refunding nothing", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_visa", 3000));
    const strayId = await harness.send({ ...refund(orderId), sagaId: crypto.randomUUID() });
    await harness.send(refund(orderId)); // the order's own saga still can
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_PROCESSED", "PAYMENT_REFUNDED"]);
    assert.notEqual(metadataOf(replies[1]).causationId, strayId);
    const [letter] = await readRecords(harness.runtime.kafka, TOPICS.ordersDlq, {
      count: 1,
      select: (record) => record.key === orderId,
    });
    assert.match(
      letter!.headers[DLQ_HEADERS.error] ?? "",
      /^REFUND_PAYMENT names saga "[0-9a-f-]+", which does not exist: order "[0-9a-f-]+" belongs to saga /,
    );
    assert.equal(JSON.parse(letter!.headers.metadata!).eventId, strayId);
    assert.equal(ledger(harness, orderId).refunds, 1, "only the order's own saga refunded");
  });
});

Deno.test("payment replies REFUND_FAILED for pm_card_refundFail and keeps the payment SUCCEEDED for a retry", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_refundFail", 2500));
    await harness.send(refund(orderId));
    await harness.send(refund(orderId));
    const replies = await harness.replies(orderId, 3);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_PROCESSED", "REFUND_FAILED", "REFUND_FAILED"]);
    const failure = bodyOf(replies[1]);
    assert.equal(failure.code, "expired_or_canceled_card");
    assert.match(String(failure.reason), /^Refund re_\w+ ended in status "failed"/);
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["SUCCEEDED"]);
    assert.deepEqual(await refundRows(harness, orderId), [
      { status: "FAILED", failure_reason: "expired_or_canceled_card" },
      { status: "FAILED", failure_reason: "expired_or_canceled_card" },
    ]);
    assert.equal(harness.stripe.server.records().refunds.length, 2, "the retry tried again");
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 2500,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
  });
});

Deno.test("payment leaves a tombstone for a refund that comes first, so the late charge fails without Stripe", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(refund(orderId));
    await harness.send(charge(orderId, "pm_card_visa"));
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_REFUNDED", "PAYMENT_FAILED"]);
    assert.deepEqual(bodyOf(replies[0]), { orderId, refundId: null, amountCents: 0 });
    assert.equal(bodyOf(replies[1]).code, "payment_cancelled");
    assert.equal(ledger(harness, orderId).chargedCents, 0);
    assert.equal(harness.stripe.server.records().paymentIntents.length, 0, "Stripe not called");
    assert.deepEqual(await payments(harness, orderId), [{
      status: "CANCELLED",
      amount_cents: "0",
    }]);
  });
});

Deno.test("payment answers the refund of a declined payment with amount 0", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_chargeDeclined"));
    await harness.send(refund(orderId));
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_FAILED", "PAYMENT_REFUNDED"]);
    assert.deepEqual(bodyOf(replies[1]), { orderId, refundId: null, amountCents: 0 });
    assert.equal(harness.stripe.server.records().refunds.length, 0);
  });
});

Deno.test("payment retries a charge while Stripe answers 500 and ends PAYMENT_PROCESSED, charged once", async () => {
  await withPayment(async (harness) => {
    harness.stripe.server.setFault({ mode: "error500", count: 3 });
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_visa", 1500));
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_PROCESSED"]);
    assert.equal(ledger(harness, orderId).charges, 1);
    assert.equal(ledger(harness, orderId).chargedCents, 1500);
    const counted = await harness.registry.getSingleMetric("stripe_requests_total")?.get();
    const count = (outcome: string) =>
      counted?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    assert.deepEqual([count("error"), count("succeeded")], [3, 1]);
  });
});

Deno.test("payment retries a charge whose answer timed out and gets the same charge back by its key", async () => {
  await withPayment(async (harness) => {
    harness.stripe.server.setFault({ mode: "stall", stallMs: 3_000, count: 1 });
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_visa", 1200));
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_PROCESSED"]);
    assert.equal(ledger(harness, orderId).charges, 1, "the timed-out charge was replayed");
    assert.equal(harness.stripe.server.records().paymentIntents.length, 1);
  }, { timeoutMs: 300 });
});

Deno.test("payment answers 60 charges on one partition within seconds while Stripe takes 700 ms an answer, without a rejoin", async () => {
  await withPayment(async (harness) => {
    harness.stripe.server.setLatency(700);
    const orderIds = Array.from({ length: 60 }, () => crypto.randomUUID());
    const started = performance.now();
    await harness.sendAll(orderIds.map((id) => charge(id, "pm_card_visa", 1000)), {
      partition: 0,
    });
    const ours = new Set<string>(orderIds);
    const arrivals: number[] = [];
    const replies = await readRecords(harness.runtime.kafka, TOPICS.paymentReplies, {
      count: orderIds.length,
      select: (record) => {
        const mine = ours.has(record.key ?? "");
        if (mine) arrivals.push(performance.now() - started);
        return mine;
      },
      timeoutMs: 90_000,
    });
    const lastMs = Math.max(...arrivals);
    assert.deepEqual(new Set(replyTypes(replies)), new Set(["PAYMENT_PROCESSED"]));
    // One after the other, 60 calls of 700 ms would take 42 s; the step deadline is 30 s.
    assert.ok(lastMs < 15_000, `the last reply came after ${Math.round(lastMs)} ms`);
    assert.equal(harness.logged("Consumer joined its group"), 1, "the consumer never rejoined");
    const { totals } = harness.stripe.server.ledger();
    assert.deepEqual([totals.charges, totals.chargedCents], [60, 60_000]);
  });
});

Deno.test("payment charges once when the handling stops between the Stripe call and recording its outcome", async () => {
  await using stripe = serveStripeTestServer({ port: 0 });
  const gateway = createStripeGateway(createStripeClient({
    apiKey: "sk_test_payment_integration",
    host: stripe.hostname,
    port: stripe.port,
    protocol: "http",
    timeoutMs: 10_000,
    local: true,
  }, { maxNetworkRetries: 0 }));
  // Lost after Stripe answered: the outcome never reaches phase 3, as in a crash between phases.
  const lost = new Set<string>();
  const calls: string[] = [];
  const crashing: PaymentGateway = {
    ...gateway,
    async charge(request) {
      calls.push(`charge ${request.idempotencyKey}`);
      const result = await gateway.charge(request);
      if (lost.has(request.orderId)) return result;
      lost.add(request.orderId);
      throw new Error("Simulated crash after the charge");
    },
    async refund(request) {
      calls.push(`refund ${request.idempotencyKey}`);
      const result = await gateway.refund(request);
      if (lost.has(`refund ${request.orderId}`)) return result;
      lost.add(`refund ${request.orderId}`);
      throw new Error("Simulated crash after the refund");
    },
  };
  await withParticipant({
    name: "payment",
    schema: "payment",
    commandTopic: TOPICS.paymentCommands,
    replyTopic: TOPICS.paymentReplies,
    commands: createPaymentCommands({ gateway: crashing }),
  }, async (harness) => {
    const orderId = crypto.randomUUID();
    const chargeId = await harness.send(charge(orderId, "pm_card_visa", 2100));
    const refundId = await harness.send(refund(orderId));
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_PROCESSED", "PAYMENT_REFUNDED"]);
    assert.deepEqual(calls, [
      `charge ${chargeId}`,
      `charge ${chargeId}`,
      `refund ${refundId}`,
      `refund ${refundId}`,
    ]);
    assert.deepEqual(stripe.server.ledger().orders[orderId], {
      orderId,
      chargedCents: 2100,
      refundedCents: 2100,
      charges: 1,
      refunds: 1,
    });
    assert.equal(stripe.server.records().paymentIntents.length, 1);
  });
});

Deno.test("payment settles a charge attempt left unanswered before it refunds, and never leaves a tombstone over it", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    const key = crypto.randomUUID();
    // An attempt that charged and was then lost (its command dead-lettered, say): Stripe holds
    // the charge, the payment row still says PENDING.
    const stripe = createStripeGateway(createStripeClient({
      apiKey: "sk_test_payment_integration",
      host: harness.stripe.hostname,
      port: harness.stripe.port,
      protocol: "http",
      timeoutMs: 10_000,
      local: true,
    }));
    const request = {
      orderId,
      sagaId,
      amountCents: 3100,
      currency: "usd",
      paymentMethod: "pm_card_visa",
      idempotencyKey: key,
    };
    assert.equal((await stripe.charge(request)).outcome, "succeeded");
    await harness.runtime.sql`insert into payment.payments
      (order_id, status, amount_cents, currency, payment_method, attempt_key)
      values (${orderId}, 'PENDING', 3100, 'usd', 'pm_card_visa', ${key})`;

    await harness.send({ ...refund(orderId), sagaId });
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_REFUNDED"]);
    assert.equal(bodyOf(reply).amountCents, 3100);
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 3100,
      refundedCents: 3100,
      charges: 1,
      refunds: 1,
    });
    assert.equal(harness.stripe.server.records().paymentIntents.length, 1, "the same intent");
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["REFUNDED"]);
  });
});

/** The order's payment row: its status and how often the follower read it. */
async function followed(harness: PaymentHarness, orderId: string) {
  const [row] = await harness.runtime.sql<
    { status: string; intent_status: string | null; follow_polls: number }[]
  >`select status, intent_status, follow_polls from payment.payments where order_id = ${orderId}`;
  return row;
}

/** The test server's PaymentIntent of the order. */
function intentOf(harness: PaymentHarness, orderId: string) {
  const intents = harness.stripe.server.records().paymentIntents.filter((pi) =>
    pi.metadata.orderId === orderId
  );
  assert.equal(intents.length, 1, "one PaymentIntent for the order");
  return intents[0]!;
}

/** Replies in the payment outbox for the order so far (written, published or not). */
async function outboxCount(harness: PaymentHarness, orderId: string): Promise<number> {
  const [row] = await harness.runtime.sql<{ n: number }[]>`
    select count(*)::int as n from payment.outbox where key = ${orderId}`;
  return row!.n;
}

function stripeCalls(harness: PaymentHarness, operation: string): Promise<number> {
  return harness.registry.getSingleMetric("stripe_requests_total")!.get().then((metric) =>
    metric.values.filter((v) => v.labels.operation === operation).reduce((n, v) => n + v.value, 0)
  );
}

const AWAITS = "Command awaits an outcome: answered once it is final";
const SKIPPED = "Duplicate command skipped";
const AN_HOUR = 3_600_000;

Deno.test("payment answers a processing charge only once it is final, and calls Stripe once for it however often it is delivered", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    const eventId = crypto.randomUUID();
    const command = { ...charge(orderId, "pm_processing_succeeds", 2500), eventId };
    await harness.send(command);
    await waitFor(async () => (await followed(harness, orderId))?.intent_status === "processing", {
      description: "the charge recorded as processing",
    });
    await harness.send(command);
    await harness.send(command);
    // Each delivery handled: decided again and awaiting, or skipped as a copy in the same chunk.
    await waitFor(() => harness.logged(AWAITS) + harness.logged(SKIPPED) >= 3, {
      description: "the redeliveries handled",
    });
    await waitFor(async () => (await followed(harness, orderId))!.follow_polls >= 2, {
      description: "the follower reading the PaymentIntent again",
    });
    assert.equal(await outboxCount(harness, orderId), 0, "nothing answered while it is processing");
    assert.equal(await stripeCalls(harness, "charge"), 1, "one charge call, no repeat");
    assert.equal(intentOf(harness, orderId).status, "processing");
    assert.equal(ledger(harness, orderId).chargedCents, 0);

    harness.advanceStripeClock(AN_HOUR);
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_PROCESSED"]);
    assert.equal(metadataOf(reply).causationId, eventId);
    const { id } = intentOf(harness, orderId);
    assert.deepEqual(bodyOf(reply), { orderId, paymentIntentId: id, amountCents: 2500 });
    assert.deepEqual(await payments(harness, orderId), [{
      status: "SUCCEEDED",
      amount_cents: "2500",
    }]);

    // Sent again once it is final: the same reply from the record, nothing charged again.
    await harness.send(command);
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(bodyOf(replies[1]), bodyOf(reply));
    assert.equal(metadataOf(replies[1]).causationId, eventId);
    assert.equal(await stripeCalls(harness, "charge"), 1);
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 2500,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
  });
});

Deno.test("payment answers PAYMENT_FAILED for a processing charge that fails, and cancels its PaymentIntent", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_processing_fails", 1800));
    await waitFor(async () => (await followed(harness, orderId))?.intent_status === "processing", {
      description: "the charge recorded as processing",
    });
    harness.advanceStripeClock(AN_HOUR);
    const [reply] = await harness.replies(orderId, 1);
    assert.deepEqual(replyTypes([reply!]), ["PAYMENT_FAILED"]);
    assert.equal(bodyOf(reply).code, "generic_decline");
    assert.match(
      String(bodyOf(reply).reason),
      /^PaymentIntent pi_\w+ failed: Your card was declined/,
    );
    assert.equal(intentOf(harness, orderId).status, "canceled", "nothing left to move later");
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["DECLINED"]);
    assert.equal(ledger(harness, orderId).chargedCents, 0);
  });
});

Deno.test("payment cancels a PaymentIntent that requires authentication and answers authentication_required", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_authenticationRequired", 1300));
    await harness.send(refund(orderId));
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_FAILED", "PAYMENT_REFUNDED"]);
    assert.equal(bodyOf(replies[0]).code, "authentication_required");
    assert.match(String(bodyOf(replies[0]).reason), /requires customer authentication.*cancelled/);
    assert.equal(intentOf(harness, orderId).status, "canceled");
    assert.deepEqual(bodyOf(replies[1]), { orderId, refundId: null, amountCents: 0 });
    assert.equal(ledger(harness, orderId).chargedCents, 0);
    assert.equal(harness.stripe.server.records().refunds.length, 0);
  });
});

Deno.test("payment holds a refund of a processing charge until the charge is final, then refunds it in full", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    const chargeId = await harness.send(charge(orderId, "pm_processing_succeeds", 4100));
    await waitFor(async () => (await followed(harness, orderId))?.intent_status === "processing", {
      description: "the charge recorded as processing",
    });
    const refundId = await harness.send(refund(orderId));
    await waitFor(() => harness.logged(AWAITS) >= 2, { description: "the refund awaiting" });
    assert.equal(await outboxCount(harness, orderId), 0, "no refund answered while money moves");
    assert.equal(harness.stripe.server.records().refunds.length, 0);

    harness.advanceStripeClock(AN_HOUR);
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_PROCESSED", "PAYMENT_REFUNDED"]);
    assert.deepEqual(replies.map((r) => metadataOf(r).causationId), [chargeId, refundId]);
    const [refunded] = harness.stripe.server.records().refunds;
    assert.deepEqual(bodyOf(replies[1]), { orderId, refundId: refunded!.id, amountCents: 4100 });
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 4100,
      refundedCents: 4100,
      charges: 1,
      refunds: 1,
    });
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["REFUNDED"]);
  });
});

Deno.test("payment answers the refund of a processing charge that fails with amount 0, charging nothing", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_processing_fails", 900));
    await waitFor(async () => (await followed(harness, orderId))?.intent_status === "processing", {
      description: "the charge recorded as processing",
    });
    await harness.send(refund(orderId));
    await waitFor(() => harness.logged(AWAITS) >= 2, { description: "the refund awaiting" });
    harness.advanceStripeClock(AN_HOUR);
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_FAILED", "PAYMENT_REFUNDED"]);
    assert.deepEqual(bodyOf(replies[1]), { orderId, refundId: null, amountCents: 0 });
    assert.equal(intentOf(harness, orderId).status, "canceled");
    assert.equal(ledger(harness, orderId).chargedCents, 0);
    assert.equal(harness.stripe.server.records().refunds.length, 0);
  });
});

Deno.test("payment follows a pending refund until it fails, answers REFUND_FAILED with its reason, and a new refund tries again", async () => {
  await withPayment(async (harness) => {
    const orderId = crypto.randomUUID();
    await harness.send(charge(orderId, "pm_card_refundPendingFails", 2200));
    const refundCommand = { ...refund(orderId), eventId: crypto.randomUUID() };
    await harness.send(refundCommand);
    await waitFor(async () => (await refundRows(harness, orderId)).length === 1, {
      description: "the refund recorded",
    });
    await waitFor(() => harness.logged(AWAITS) >= 1, { description: "the refund awaiting" });
    await harness.send(refundCommand); // sent again while it is pending: no second refund
    await waitFor(() => harness.logged(AWAITS) >= 2, { description: "the repeat awaiting" });
    assert.equal(await outboxCount(harness, orderId), 1, "only the charge answered");
    assert.deepEqual(await refundRows(harness, orderId), [{
      status: "PENDING",
      failure_reason: null,
    }]);

    harness.advanceStripeClock(AN_HOUR);
    const replies = await harness.replies(orderId, 2);
    assert.deepEqual(replyTypes(replies), ["PAYMENT_PROCESSED", "REFUND_FAILED"]);
    assert.equal(bodyOf(replies[1]).code, "declined");
    assert.equal(metadataOf(replies[1]).causationId, refundCommand.eventId);
    assert.deepEqual(await refundRows(harness, orderId), [{
      status: "FAILED",
      failure_reason: "declined",
    }]);
    assert.deepEqual((await payments(harness, orderId)).map((p) => p.status), ["SUCCEEDED"]);

    // The same command once more: answered from its record. A new one (the saga's retry) refunds
    // again, pending again, and fails again once final.
    await harness.send(refundCommand);
    await harness.send(refund(orderId));
    await waitFor(async () => (await refundRows(harness, orderId)).length === 2, {
      description: "the second refund recorded",
    });
    await waitFor(async () => {
      const [, second] = await harness.runtime.sql<{ stripe_refund_id: string | null }[]>`
        select stripe_refund_id from payment.refunds where order_id = ${orderId} order by id`;
      return second?.stripe_refund_id !== null && second !== undefined;
    }, { description: "the second refund pending at Stripe" });
    harness.advanceStripeClock(AN_HOUR);
    const all = await harness.replies(orderId, 4);
    assert.deepEqual(replyTypes(all), [
      "PAYMENT_PROCESSED",
      "REFUND_FAILED",
      "REFUND_FAILED",
      "REFUND_FAILED",
    ]);
    assert.deepEqual(bodyOf(all[2]), bodyOf(all[1]), "the repeat is the recorded reply");
    assert.equal(harness.stripe.server.records().refunds.length, 2);
    assert.deepEqual(ledger(harness, orderId), {
      orderId,
      chargedCents: 2200,
      refundedCents: 0,
      charges: 1,
      refunds: 0,
    });
  });
});

Deno.test("payment logs one info line per command: the participant's, with a decline's code and reason", async () => {
  const gateway: PaymentGateway = {
    charge: (request) =>
      Promise.resolve(
        request.paymentMethod === "pm_card_visa"
          ? {
            outcome: "succeeded",
            paymentIntentId: `pi_${request.idempotencyKey}`,
            amountCents: request.amountCents,
          }
          : {
            outcome: "declined",
            paymentIntentId: null,
            code: "card_declined",
            reason: "Your card was declined.",
          },
      ),
    refund: (request) =>
      Promise.resolve({
        outcome: "succeeded",
        refundId: `re_${request.idempotencyKey}`,
        amountCents: 4250,
      }),
    followCharge: () => Promise.reject(new Error("Cannot follow a charge in this test")),
    followRefund: () => Promise.reject(new Error("Cannot follow a refund in this test")),
  };
  await withTestDatabase(async (db) => {
    const { log, lines } = capturingLogger("payment");
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: createPaymentCommands({ gateway }),
    });
    const [charged, declined] = [crypto.randomUUID(), crypto.randomUUID()];
    const sagaId = crypto.randomUUID();
    const records = [
      encodeMessage({ ...charge(charged, "pm_card_visa"), sagaId }),
      encodeMessage({ ...charge(declined, "pm_card_chargeDeclined"), sagaId: crypto.randomUUID() }),
      encodeMessage({ ...refund(charged), sagaId }),
    ];
    for (const [offset, record] of records.entries()) {
      await handle([asConsumed(record, offset)], { signal: new AbortController().signal });
    }
    assert.deepEqual(
      handledLines(lines),
      [
        ["info", "Command handled", charged, "PAYMENT_PROCESSED", undefined, undefined],
        [
          "info",
          "Command handled",
          declined,
          "PAYMENT_FAILED",
          "card_declined",
          "Your card was declined.",
        ],
        ["info", "Command handled", charged, "PAYMENT_REFUNDED", undefined, undefined],
      ],
    );
  });
});
