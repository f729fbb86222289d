/**
 * sagactl end to end: the real CLI as a subprocess (`deno run -A cli/sagactl.ts …`) against the
 * real services (`withTestStack`: the four services and the Stripe test server as processes,
 * real Kafka, PostgreSQL and Redis, a fresh database).
 */
import assert from "node:assert/strict";
import { waitFor } from "../lib/async/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { readRecords, topicEnd } from "../testing/kafka.ts";
import { runSagactl, type SagactlRun } from "../testing/sagactl.ts";
import { type TestStack, withTestStack } from "../testing/stack.ts";

const FAST_POLICY = {
  COMPENSATION_RETRY_INITIAL: "200ms",
  SWEEP_INTERVAL: "100ms",
  MAX_COMPENSATION_RETRIES: "2",
};
const OPERATOR = "test-operator";

type Run = SagactlRun;

function sagactl(t: TestStack, args: readonly string[], env: Record<string, string> = {}) {
  return runSagactl({ ...t.env, USER: OPERATOR, ...env }, args);
}

/** Runs sagactl expecting `code`; returns stdout parsed as JSON. */
async function json<T = Record<string, unknown>>(
  t: TestStack,
  args: readonly string[],
  code = 0,
): Promise<T> {
  const run = await sagactl(t, [...args, "--json"]);
  assert.equal(run.code, code, `sagactl ${args.join(" ")}: ${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout) as T;
}

/** Asserts an error run: the exit code, nothing on stdout, one line on stderr, no stack trace. */
function assertError(run: Run, code: number, message: RegExp): void {
  assert.equal(run.code, code, `exit code (stderr: ${run.stderr})`);
  assert.equal(run.stdout, "");
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, message);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
}

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "sagactl drives and repairs the real system, as a subprocess",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(test) {
    await withTestStack(FAST_POLICY, async (t) => {
      const ids: Record<string, string> = {};

      await test.step("seed loads the demo catalog idempotently; product list shows it", async () => {
        await t.sql`delete from inventory.products where sku = 'POSTER-LTD'`;
        const first: Json = await json(t, ["seed"]);
        assert.equal(first.added, 1);
        assert.equal(first.present, 3);
        const again = await sagactl(t, ["seed"]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stdout, /0 product\(s\) added, 4 already present/);
        const list: Json = await json(t, ["product", "list"]);
        assert.deepEqual(list.products.map((p: Json) => p.sku), [
          "BOOK-SAGAS",
          "MUG-BLUE",
          "POSTER-LTD",
          "TEE-LOGO-M",
        ]);
        const table = await sagactl(t, ["product", "list"]);
        assert.match(table.stdout, /^SKU\s+PRODUCT ID\s+NAME\s+PRICE/);
        assert.match(
          table.stdout,
          /MUG-BLUE\s+8a1f0c4e-0001-4000-8000-000000000001\s+Blue mug\s+\$12\.99/,
        );
        assert.ok(!table.stdout.includes("\x1b["), "no colour when piped");
      });

      await test.step("order create --wait exits 0 on COMPLETED, with live progress", async () => {
        const created: Json = await json(t, [
          "order",
          "create",
          "--item",
          "MUG-BLUE:2",
          "--item",
          "8a1f0c4e-0003-4000-8000-000000000003:1",
          "--email",
          "ada@example.com",
          "--wait",
        ]);
        assert.equal(created.wait.outcome, "COMPLETED");
        assert.equal(created.wait.exitCode, 0);
        assert.equal(created.saga.status, "COMPLETED");
        assert.equal(created.totalCents, 2 * 1_299 + 3_999);
        assert.deepEqual(created.order.items, [
          { productId: "8a1f0c4e-0001-4000-8000-000000000001", quantity: 2, unitPriceCents: 1_299 },
          { productId: "8a1f0c4e-0003-4000-8000-000000000003", quantity: 1, unitPriceCents: 3_999 },
        ]);
        ids.completedOrder = created.orderId;
        ids.completedSaga = created.saga.sagaId;

        const human = await sagactl(t, ["order", "create", "--wait"]);
        assert.equal(human.code, 0, human.stderr);
        assert.match(human.stdout, /^Placed order [0-9a-f-]{36}: 1 × Blue mug = \$12\.99/);
        for (const step of ["ReserveInventory", "ProcessPayment", "SendNotification"]) {
          assert.match(human.stdout, new RegExp(`\\+\\S+\\s+\\S+\\s+${step}`), step);
        }
        assert.match(human.stdout, /\nCOMPLETED in \S+: saga [0-9a-f-]{36}\n$/);
      });

      await test.step("order create --wait exits 3 on a declined card and says it was COMPENSATED", async () => {
        const run = await sagactl(t, [
          "order",
          "create",
          "--payment-method",
          "pm_card_chargeDeclined",
          "--wait",
        ]);
        assert.equal(run.code, 3, run.stderr);
        assert.match(
          run.stdout,
          /COMPENSATED in \S+: saga ([0-9a-f-]{36}); ProcessPayment failed \(generic_decline\): Your card was declined\./,
        );
        ids.compensatedSaga = /saga ([0-9a-f-]{36});/.exec(run.stdout)![1]!;
      });

      await test.step("saga show and saga list, as tables and as JSON", async () => {
        const shown: Json = await json(t, ["saga", "show", ids.completedOrder!]);
        assert.equal(shown.saga.sagaId, ids.completedSaga);
        assert.equal(shown.saga.status, "COMPLETED");
        assert.equal(shown.saga.orderStatus, "CONFIRMED");
        assert.equal(shown.saga.step, null);
        assert.equal(shown.saga.completedSteps, 3);
        assert.equal(shown.order.customerEmail, "ada@example.com");
        assert.equal(shown.order.totalCents, 2 * 1_299 + 3_999);
        assert.deepEqual(shown.timeline.map((l: Json) => l.eventType), [
          "ORDER_CREATED",
          "INVENTORY_RESERVED",
          "PAYMENT_PROCESSED",
          "NOTIFICATION_SENT",
        ]);
        assert.equal(shown.timeline.at(-1).toStatus, "COMPLETED");
        assert.ok(!Number.isNaN(Date.parse(shown.timeline[0].at)));

        const table = await sagactl(t, ["saga", "show", ids.completedSaga!]);
        assert.equal(table.code, 0, table.stderr);
        assert.match(table.stdout, /^Saga\s+[0-9a-f-]{36}\s+\(order saga\)/);
        assert.match(table.stdout, /Status\s+COMPLETED/);
        assert.match(table.stdout, /TIME \(UTC\)\s+\+ELAPSED\s+EVENT/);
        assert.match(table.stdout, /NOTIFICATION_SENT\s+orchestrator\s+IN_PROGRESS → COMPLETED/);

        const completed: Json = await json(t, ["saga", "list", "--status", "completed"]);
        assert.ok(completed.sagas.length >= 2);
        assert.ok(completed.sagas.every((s: Json) => s.status === "COMPLETED"));
        assert.ok(completed.sagas.some((s: Json) => s.sagaId === ids.completedSaga));
        const limited: Json = await json(t, ["saga", "list", "--limit", "1", "--since", "1h"]);
        assert.equal(limited.sagas.length, 1);
        const list = await sagactl(t, ["saga", "list", "--status", "COMPENSATED,FAILED"]);
        assert.match(list.stdout, /^SAGA ID\s+ORDER ID\s+STATUS\s+STEP\s+RETRIES/);
        assert.match(list.stdout, new RegExp(`${ids.compensatedSaga}\\s+\\S+\\s+COMPENSATED`));
        assert.doesNotMatch(list.stdout, /COMPLETED/);
      });

      await test.step("a saga in COMPENSATION_FAILED is retried and reaches COMPENSATED once the refund works", async () => {
        const failed: Json = await json(t, [
          "order",
          "create",
          "--item",
          "TEE-LOGO-M:1",
          "--payment-method",
          "pm_card_refundFail",
          "--email",
          "erin@example.invalid",
          "--wait",
        ], 3);
        assert.equal(failed.wait.outcome, "COMPENSATION_FAILED");
        assert.deepEqual(failed.saga.pendingCompensations, ["RefundPayment", "ReleaseInventory"]);
        const sagaId = failed.saga.sagaId as string;
        ids.refundFailedSaga = sagaId;

        const dry = await sagactl(t, ["saga", "retry", sagaId, "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(
          dry.stdout,
          /Would retry saga .* send RefundPayment again, then ReleaseInventory/,
        );
        const still: Json = await json(t, ["saga", "show", sagaId]);
        assert.equal(still.saga.status, "COMPENSATION_FAILED", "a dry run changes nothing");

        await setRefundFailures(t, false);
        const retried: Json = await json(t, ["saga", "retry", failed.orderId, "--wait"]);
        assert.equal(retried.wait.outcome, "COMPENSATED");
        assert.equal(retried.saga.status, "COMPENSATED");
        assert.deepEqual(
          retried.retries.map((r: Json) => [r.result, r.fromStatus, r.toStatus, r.commandType]),
          [["retried", "COMPENSATION_FAILED", "COMPENSATING", "REFUND_PAYMENT"]],
        );
        assert.equal(retried.actor, `operator:${OPERATOR}`);

        const shown: Json = await json(t, ["saga", "show", sagaId]);
        const retryLine = shown.timeline.find((l: Json) => l.eventType === "OPERATOR_RETRY");
        assert.equal(retryLine.actor, `operator:${OPERATOR}`);
        assert.equal(retryLine.fromStatus, "COMPENSATION_FAILED");
        assert.equal(retryLine.toStatus, "COMPENSATING");
        assert.equal(
          retryLine.note,
          `Operator ${OPERATOR} retried the compensation; sent REFUND_PAYMENT`,
        );
        assert.deepEqual(shown.timeline.slice(-2).map((l: Json) => l.eventType), [
          "PAYMENT_REFUNDED",
          "INVENTORY_RELEASED",
        ]);
        assert.equal((await t.ledger())[failed.orderId]?.refundedCents, 2_499);
      });

      await test.step("retrying a COMPLETED saga is refused and writes nothing", async () => {
        const before: Json = await json(t, ["saga", "show", ids.completedSaga!]);
        const run = await sagactl(t, ["saga", "retry", ids.completedSaga!]);
        assertError(
          run,
          1,
          /Cannot retry saga .*: it is COMPLETED; only a COMPENSATION_FAILED saga/,
        );
        const after: Json = await json(t, ["saga", "show", ids.completedSaga!]);
        assert.deepEqual(after, before);
      });

      await test.step("saga retry --all-failed previews, asks for --yes without a terminal, then retries", async () => {
        await setRefundFailures(t, true);
        const failed: Json = await json(t, [
          "order",
          "create",
          "-i",
          "TEE-LOGO-M:1",
          "-p",
          "pm_card_refundFail",
          "-e",
          "frank@example.invalid",
          "-w",
        ], 3);
        const sagaId = failed.saga.sagaId as string;
        const plan: Json = await json(t, ["saga", "retry", "--all-failed", "--dry-run"]);
        assert.deepEqual(plan.retries.map((r: Json) => [r.sagaId, r.result, r.step]), [
          [sagaId, "planned", "RefundPayment"],
        ]);
        const unconfirmed = await sagactl(t, ["saga", "retry", "--all-failed"]);
        assert.equal(unconfirmed.code, 2);
        assert.match(
          unconfirmed.stdout,
          new RegExp(`1 saga\\(s\\) are COMPENSATION_FAILED.*\n.*\n${sagaId}`),
        );
        assert.match(
          unconfirmed.stderr,
          /^error: Refusing to retry 1 saga\(s\) without confirmation: add --yes \(or preview with --dry-run\)/,
        );
        assert.equal(unconfirmed.stderr.trimEnd().split("\n").length, 1);
        assert.equal(
          (await json<Json>(t, ["saga", "show", sagaId])).saga.status,
          "COMPENSATION_FAILED",
        );
        await setRefundFailures(t, false);
        const done = await sagactl(t, ["saga", "retry", "--all-failed", "--yes", "--rate", "20/s"]);
        assert.equal(done.code, 0, done.stderr);
        assert.match(done.stdout, /1 saga\(s\) are COMPENSATION_FAILED; will retry them/);
        assert.match(done.stdout, new RegExp(`Retried saga ${sagaId} as operator:${OPERATOR}`));
        assert.match(done.stdout, /Retried 1 of 1 saga\(s\)\./);
        await waitFor(async () => {
          const shown: Json = await json(t, ["saga", "show", sagaId]);
          return shown.saga.status === "COMPENSATED";
        }, { timeoutMs: 20_000, description: "the bulk-retried saga to be COMPENSATED" });
      });

      await test.step("a COMPENSATION_FAILED alert is listed in the DLQ and cannot be replayed", async () => {
        const alert: Json = await waitFor(async () => {
          const list: Json = await json(t, [
            "dlq",
            "list",
            "--type",
            "COMPENSATION_FAILED",
            "--limit",
            "50",
          ]);
          return list.records.find((r: Json) => r.sagaId === ids.refundFailedSaga);
        }, { timeoutMs: 20_000, description: "the COMPENSATION_FAILED alert on orders.dlq" });
        assert.equal(alert.kind, "alert");
        assert.equal(alert.source, null);
        assert.match(alert.error, /RefundPayment failed 3 time\(s\)/);
        assertError(
          await sagactl(t, ["dlq", "replay", alert.ref]),
          1,
          /^error: Cannot replay orders\.dlq \d+:\d+: it is a COMPENSATION_FAILED alert, not a dead letter: there is no source topic to replay it to/,
        );
      });

      await test.step("a poison record is listed, replayed once, refused the second time, and --force replays it again", async () => {
        const key = crypto.randomUUID();
        const value = JSON.stringify({ orderId: key, poison: true });
        const metadata = JSON.stringify({
          eventType: "ORDER_CREATED",
          eventId: crypto.randomUUID(),
          orderId: key,
          timestamp: new Date().toISOString(),
        });
        await t.producer.send({
          topic: inNamespace(t.producer, "orders"),
          acks: -1,
          messages: [{ key, value, headers: { metadata, "x-test": "sagactl" } }],
        });
        const record: Json = await waitFor(async () => {
          const list: Json = await json(t, ["dlq", "list", "--type", "ORDER_CREATED", "-n", "100"]);
          return list.records.find((r: Json) => r.key === key);
        }, { timeoutMs: 20_000, description: "the poison record on orders.dlq" });
        assert.equal(record.kind, "dead-letter");
        assert.equal(record.source.topic, "orders");
        assert.match(record.error, /Invalid ORDER_CREATED body/);
        assert.equal(record.replay, null);
        const shown: Json = await json(t, ["dlq", "show", record.ref]);
        assert.equal(shown.value, value);
        assert.equal(shown.headers["x-test"], "sagactl");
        const human = await sagactl(t, ["dlq", "show", record.ref]);
        assert.match(human.stdout, /Kind\s+dead letter/);
        assert.match(human.stdout, /Source\s+orders partition \d+ offset \d+/);

        const dry = await sagactl(t, ["dlq", "replay", record.ref, "--dry-run"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /would replay/);
        assert.equal((await json<Json>(t, ["dlq", "show", record.ref])).replay, null);

        const kafka = createKafka({
          brokers: t.env.KAFKA_BROKERS!.split(","),
          clientId: "sagactl-test",
          namespace: t.env.KAFKA_NAMESPACE!,
        });
        const from = await topicEnd(kafka, "orders");
        const replayed: Json = await json(t, ["dlq", "replay", record.ref]);
        assert.deepEqual(
          replayed.replays.map((r: Json) => [r.ref, r.result, r.sourceTopic, r.key]),
          [[record.ref, "replayed", "orders", key]],
        );
        const [copy] = await readRecords(kafka, "orders", {
          count: 1,
          from,
          select: (r) => r.key === key,
        });
        assert.equal(copy!.value, value);
        assert.equal(copy!.headers.metadata, metadata);
        assert.equal(copy!.headers["x-test"], "sagactl");
        assert.equal(copy!.headers["dlq-replayed-at"], replayed.replays[0].replayedAt);
        assert.equal(copy!.headers["dlq-replayed-from"], `orders.dlq:${record.ref}`);
        assert.equal(copy!.headers["dlq-error"], undefined);
        assert.equal(copy!.partition, record.source.partition);

        assertError(
          await sagactl(t, ["dlq", "replay", record.ref]),
          1,
          /Cannot replay orders\.dlq \d+:\d+: it was replayed already \(1×, last at .* by operator:test-operator\); add --force/,
        );
        const forced = await sagactl(t, ["dlq", "replay", record.ref, "--force"]);
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(forced.stdout, /^OFFSET\s+TO\s+KEY\s+TYPE\s+RESULT/);
        assert.match(forced.stdout, /replayed at /);
        assert.match(forced.stdout, /Replayed 1 record\(s\) to their source topics\./);
        const after: Json = await json(t, ["dlq", "show", record.ref]);
        assert.equal(after.replay.count, 2);
        assert.equal(after.replay.replayedBy, `operator:${OPERATOR}`);
      });

      await test.step("stats counts sagas, the DLQ and the outboxes", async () => {
        const stats: Json = await json(t, ["stats"]);
        assert.ok(stats.sagas.byStatus.COMPLETED >= 2);
        assert.ok(stats.sagas.byStatus.COMPENSATED >= 3);
        assert.equal(stats.sagas.byStatus.COMPENSATION_FAILED, 0);
        assert.equal(Object.keys(stats.sagas.byStatus).length, 8);
        assert.ok(stats.dlq.depth >= 2);
        assert.equal(stats.dlq.replayed, 1);
        assert.deepEqual(stats.outbox.map((o: Json) => o.service), [
          "orchestrator",
          "inventory",
          "payment",
          "notification",
        ]);
        const human = await sagactl(t, ["stats"]);
        assert.match(human.stdout, /^STATUS\s+SAGAS\n/);
        assert.match(human.stdout, /DLQ:\s+\d+ record\(s\) in orders\.dlq, 1 replayed/);
      });

      await test.step("every error is one line with its exit code, and fails fast", async () => {
        const unknown = crypto.randomUUID();
        const [
          badUuid,
          badItem,
          badQuantity,
          unknownOption,
          unknownSaga,
          unknownProduct,
          pgDown,
          kafkaDown,
          badConfig,
        ] = await Promise.all([
          sagactl(t, ["saga", "show", "not-a-uuid"]),
          sagactl(t, ["order", "create", "--item", "MUG-BLUE"]),
          sagactl(t, ["order", "create", "--item", "MUG-BLUE:0"]),
          sagactl(t, ["saga", "list", "--frobnicate"]),
          sagactl(t, ["saga", "show", unknown]),
          sagactl(t, ["order", "create", "--item", "NO-SUCH-SKU:1"]),
          sagactl(t, ["saga", "list"], { DATABASE_URL: "postgres://postgres@127.0.0.1:1/sagas" }),
          sagactl(t, ["dlq", "list"], { KAFKA_BROKERS: "127.0.0.1:1" }),
          sagactl(t, ["stats"], { DATABASE_URL: "mysql://127.0.0.1/sagas" }),
        ]);
        assertError(badUuid, 2, /'not-a-uuid' is invalid for argument 'id'\. Expected a UUID/);
        assertError(
          badItem,
          2,
          /argument 'MUG-BLUE' is invalid\. Expected <productId\|SKU>:<quantity>/,
        );
        assertError(badQuantity, 2, /The quantity must be a whole number from 1 to 10000/);
        assertError(unknownOption, 2, /Unknown option '--frobnicate'.*sagactl saga list --help/);
        assertError(unknownSaga, 1, new RegExp(`No saga has saga id or order id ${unknown}`));
        assertError(unknownProduct, 1, /no product "NO-SUCH-SKU" in the catalog/);
        assertError(
          pgDown,
          1,
          /Cannot reach PostgreSQL at 127\.0\.0\.1:1\/sagas \(DATABASE_URL\): connection refused/,
        );
        assertError(kafkaDown, 1, /Cannot reach Kafka at 127\.0\.0\.1:1 \(KAFKA_BROKERS\)/);
        assertError(
          badConfig,
          1,
          /Invalid configuration: DATABASE_URL must be a postgres: or postgresql:\/\/ URL/,
        );
        for (const run of [pgDown, kafkaDown]) assert.ok(run.ms < 15_000, `took ${run.ms} ms`);
      });

      await test.step("--wait falls back to PostgreSQL without Redis, and exits 4 on timeout", async () => {
        const [noRedis, timeout] = await Promise.all([
          sagactl(t, ["order", "create", "--wait"], { REDIS_URL: "redis://127.0.0.1:1" }),
          sagactl(t, ["order", "create", "--wait", "--timeout", "1ms"]),
        ]);
        assert.equal(noRedis.code, 0, noRedis.stderr);
        assert.match(
          noRedis.stdout,
          /Redis does not answer: following the saga by polling PostgreSQL/,
        );
        assert.match(noRedis.stdout, /\nCOMPLETED in /);
        assert.equal(timeout.code, 4, timeout.stderr);
        assert.match(timeout.stdout, /TIMEOUT after 1ms: .*sagactl saga show [0-9a-f-]{36}/);
      });
    });
  },
});

async function setRefundFailures(t: TestStack, enabled: boolean): Promise<void> {
  const response = await fetch(`${t.stripeUrl}/_test/refund-failures`, {
    method: "POST",
    body: JSON.stringify({ enabled }),
  });
  assert.equal(response.status, 200, await response.text());
}
