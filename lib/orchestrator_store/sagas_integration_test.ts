/** The orchestrator's saga rows against a real PostgreSQL, migrations included. */
import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeDb, connectDb, ensureDatabase, runMigrations } from "../db/mod.ts";
import { testInfra } from "../../testing/infra.ts";
import { DEFAULT_BACKOFF } from "../saga/mod.ts";
import { decideSagaEvent, ORCHESTRATOR_SAGAS } from "../order_saga/mod.ts";
import { lockSaga } from "./sagas.ts";

const MIGRATIONS = fileURLToPath(new URL("../../migrations/", import.meta.url));

Deno.test("migration 0012 gives a saga started before it its order as data, which the engine runs on", async () => {
  const { databaseUrl } = await testInfra(["postgres"]);
  const url = new URL(databaseUrl);
  url.pathname = `/test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await ensureDatabase(url.href);
  const sql = connectDb(url.href, { max: 2 });
  const before = await mkdtemp(join(tmpdir(), "migrations-"));
  try {
    for (const name of await readdir(MIGRATIONS)) {
      if (name.endsWith(".sql") && name < "0012") {
        await cp(join(MIGRATIONS, name), join(before, name));
      }
    }
    await runMigrations(sql, before);
    const orderId = crypto.randomUUID();
    const sagaId = crypto.randomUUID();
    const customerId = crypto.randomUUID();
    const [first, second] = [crypto.randomUUID(), crypto.randomUUID()];
    await sql`insert into orchestrator.orders
      (order_id, customer_id, customer_email, currency, payment_method, total_cents)
      values (${orderId}, ${customerId}, 'ada@example.com', 'usd', 'pm_card_visa', 4498)`;
    await sql`insert into orchestrator.order_items values
      (${orderId}, 2, ${second}, 1, 500), (${orderId}, 1, ${first}, 2, 1999)`;
    // Waiting on PROCESS_PAYMENT, as a saga in flight during the upgrade would be.
    const commandId = crypto.randomUUID();
    await sql`insert into orchestrator.sagas (saga_id, order_id, saga_type, status,
        completed_steps, pending_step, pending_phase, pending_command_id, deadline_at,
        pending_first_sent_at, pending_attempt)
      values (${sagaId}, ${orderId}, 'order', 'IN_PROGRESS', 1, 1, 'forward', ${commandId},
        now() + interval '1 minute', now(), 1)`;

    await runMigrations(sql, MIGRATIONS);
    const order = {
      orderId,
      customerId,
      customerEmail: "ada@example.com",
      currency: "usd",
      paymentMethod: "pm_card_visa",
      items: [
        { productId: first, quantity: 2, unitPriceCents: 1999 },
        { productId: second, quantity: 1, unitPriceCents: 500 },
      ],
    };
    const saga = await sql.begin((tx) => lockSaga(tx, sagaId));
    assert.deepEqual(saga?.data, { order, charge: null });
    assert.equal(saga?.type, "order");
    assert.equal(saga?.state.key, orderId);
    const decision = decideSagaEvent(saga!, {
      event: {
        type: "REPLY",
        eventType: "PAYMENT_PROCESSED",
        eventId: crypto.randomUUID(),
        causationId: commandId,
        body: { orderId, paymentIntentId: "pi_1", amountCents: 4498 },
      },
      origin: { eventType: "PAYMENT_PROCESSED", eventId: null, actor: "test" },
      policy: {
        stepTimeoutMs: 1_000,
        stepGiveUpMs: 10_000,
        compensationGiveUpMs: 60_000,
        maxCompensationRetries: 1,
        backoff: DEFAULT_BACKOFF,
      },
      sagas: ORCHESTRATOR_SAGAS,
    });
    assert.deepEqual(decision.saved.data, {
      order,
      charge: { paymentIntentId: "pi_1", amountCents: 4498 },
    });
    assert.equal(decision.saved.domainStatus, "PENDING");
    assert.deepEqual(
      decision.records.map((r) => [r.topic, JSON.parse(r.value ?? "{}").totalCents]),
      [
        ["notification.commands", 4498],
      ],
    );
  } finally {
    await rm(before, { recursive: true, force: true });
    await closeDb(sql);
    const admin = new URL(url.href);
    admin.pathname = "/postgres";
    const maintenance = connectDb(admin.href, { max: 1 });
    try {
      await maintenance`drop database if exists ${maintenance(url.pathname.slice(1))} with (force)`;
    } finally {
      await closeDb(maintenance);
    }
  }
});
