import assert from "node:assert/strict";
import { DLQ_HEADERS } from "../../lib/kafka/dlq.ts";
import { withTestDatabase } from "../db.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { checkInvariants, type DeadLetter } from "./mod.ts";

/** A saga (and its order) in `status`; `failedOnce` adds the history line of COMPENSATION_FAILED. */
async function saga(sql: Sql, status: string, options: { failedOnce?: boolean } = {}) {
  const orderId = crypto.randomUUID();
  const sagaId = crypto.randomUUID();
  const orderStatus = status === "COMPLETED"
    ? "CONFIRMED"
    : status === "COMPENSATED" || status === "FAILED"
    ? "CANCELLED"
    : "PENDING";
  await sql`insert into orchestrator.orders
    (order_id, customer_id, customer_email, currency, payment_method, total_cents, status)
    values (${orderId}, ${crypto.randomUUID()}, 'a@b.example', 'usd', 'pm_card_visa', 1299,
      ${orderStatus})`;
  await sql`insert into orchestrator.sagas (saga_id, order_id, saga_type, status, data)
    values (${sagaId}, ${orderId}, 'order', ${status}, '{}'::jsonb)`;
  if (options.failedOnce ?? status === "COMPENSATION_FAILED") {
    await sql`insert into orchestrator.saga_history
      (saga_id, from_status, to_status, event_type, outcome, actor, note)
      values (${sagaId}, 'COMPENSATING', 'COMPENSATION_FAILED', 'REFUND_FAILED', 'applied',
        'orchestrator', 'RefundPayment failed 4 times')`;
  }
  return { orderId, sagaId };
}

function alert(s: { orderId: string; sagaId: string }): DeadLetter {
  const metadata = { eventType: "COMPENSATION_FAILED", sagaId: s.sagaId, orderId: s.orderId };
  return { key: s.orderId, headers: { metadata: JSON.stringify(metadata) } };
}

function deadLetter(key: string, headers: Record<string, string> = {}): DeadLetter {
  return {
    key,
    headers: {
      [DLQ_HEADERS.error]: "Missing header metadata",
      [DLQ_HEADERS.sourceTopic]: "orders",
      ...headers,
    },
  };
}

const ledgerOf = (orderId: string, charged: number, refunded = 0) => ({
  [orderId]: { chargedCents: charged, refundedCents: refunded, charges: charged > 0 ? 1 : 0 },
});

Deno.test("checkInvariants() accepts injected dead letters and the alert of each failed saga", async () => {
  await withTestDatabase(async ({ sql }) => {
    const failed = await saga(sql, "COMPENSATION_FAILED");
    const retried = await saga(sql, "COMPENSATED", { failedOnce: true }); // an operator retried it
    const completed = await saga(sql, "COMPLETED");
    const byKey = crypto.randomUUID();
    const report = await checkInvariants(sql, ledgerOf(completed.orderId, 1299), {
      deadLetters: {
        records: [
          deadLetter(byKey),
          deadLetter(completed.orderId, { "chaos-injection": "same eventId, other body" }),
          alert(failed),
          alert(retried),
        ],
        injectedKeys: new Set([byKey]),
        injectedHeader: "chaos-injection",
      },
    });
    assert.deepEqual(report.violations, []);
    assert.deepEqual(report.deadLetters, { injected: 2, alerts: 2, unexpected: 0 });
  });
});

Deno.test("checkInvariants() reports dead letters nobody injected, stray alerts and missing ones", async () => {
  await withTestDatabase(async ({ sql }) => {
    const silent = await saga(sql, "COMPENSATION_FAILED");
    const completed = await saga(sql, "COMPLETED");
    const injected = crypto.randomUUID();
    const report = await checkInvariants(sql, ledgerOf(completed.orderId, 1299), {
      deadLetters: {
        records: [
          deadLetter(completed.orderId),
          alert(completed),
          { key: injected, headers: {} },
        ],
        injectedKeys: new Set([injected]),
      },
    });
    assert.equal(report.violations.length, 4, report.violations.join("\n"));
    assert.match(report.violations[0]!, /^Unexpected dead letter .* from orders: Missing header/);
    assert.match(report.violations[1]!, /^Unexpected record .*: COMPENSATION_FAILED for saga/);
    assert.match(report.violations[2]!, /^Injected record .* carries no dlq-error reason/);
    assert.match(
      report.violations[3]!,
      new RegExp(`^Saga of order ${silent.orderId} is COMPENSATION_FAILED but raised no alert`),
    );
  });
});

Deno.test("checkInvariants() reports money moved for an order the orchestrator has no saga for", async () => {
  await withTestDatabase(async ({ sql }) => {
    const stranger = crypto.randomUUID();
    const report = await checkInvariants(sql, {
      ...ledgerOf(stranger, 1299, 1299),
      ...ledgerOf(crypto.randomUUID(), 0),
    });
    assert.deepEqual(report.violations, [
      `Order ${stranger} has no saga but was charged 1299 (refunded 1299)`,
    ]);
  });
});

Deno.test("checkInvariants() tells a set-aside outbox row from an unpublished one and expects its alert", async () => {
  await withTestDatabase(async ({ sql }) => {
    const refused = crypto.randomUUID();
    const silent = crypto.randomUUID();
    const metadata = (orderId: string) =>
      sql.json({ metadata: JSON.stringify({ eventType: "PAYMENT_FAILED", orderId }) });
    await sql`insert into payment.outbox (topic, key, value, headers, set_aside_at, set_aside_reason)
      values ('payment.replies', ${refused}, 'too large', ${metadata(refused)}, now(),
        'Kafka refused the record for good: MESSAGE_TOO_LARGE'),
      ('payment.replies', ${silent}, 'too large', ${metadata(silent)}, now(),
        'Kafka refused the record for good: MESSAGE_TOO_LARGE')`;
    await sql`insert into inventory.outbox (topic, key, value) values ('inventory.replies', 'k', 'v')`;
    const refusal = (orderId: string): DeadLetter => ({
      key: orderId,
      headers: {
        metadata: JSON.stringify({ eventType: "OUTBOX_RECORD_REFUSED", orderId, sagaId: orderId }),
      },
    });
    const stray = crypto.randomUUID();
    const report = await checkInvariants(sql, null, {
      deadLetters: { records: [refusal(refused), refusal(stray)] },
    });
    assert.equal(report.unpublishedOutbox, 1, "a set-aside row is not pending");
    assert.equal(report.setAsideOutbox, 2);
    assert.deepEqual(report.deadLetters, { injected: 0, alerts: 1, unexpected: 1 });
    assert.equal(report.violations.length, 4, report.violations.join("\n"));
    assert.equal(report.violations[0], "1 inventory outbox record(s) unpublished");
    assert.equal(
      report.violations[1],
      "2 payment outbox record(s) set aside: Kafka refused the record for good: MESSAGE_TOO_LARGE",
    );
    assert.match(report.violations[2]!, /^Unexpected record .*: OUTBOX_RECORD_REFUSED for saga/);
    assert.match(
      report.violations[3]!,
      /^Outbox row \d+ of payment is set aside but raised no OUTBOX_RECORD_REFUSED alert/,
    );
  });
});
