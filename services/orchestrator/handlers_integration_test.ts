/**
 * The orchestrator against a real PostgreSQL: records go straight into its handler and sweep,
 * and what it decided is read back from its tables and outbox.
 */
import assert from "node:assert/strict";
import { type Sql, type TransactionSql, withTransaction } from "../../lib/db/mod.ts";
import { partitionOf } from "../../lib/kafka/partitioner.ts";
import { MalformedMessageError } from "../../lib/errors/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { encodeMessage, type EventType, type OrderCreated } from "../../lib/messages/mod.ts";
import {
  type AppliedEvent,
  ORCHESTRATOR_SAGAS as sagas,
  ORDER_SAGA,
  replyRoutes,
  replyTopics,
} from "../../lib/order_saga/mod.ts";
import {
  readHistory,
  recordReplyReads,
  type ReplyPartitioning,
} from "../../lib/orchestrator_store/mod.ts";
import { DEFAULT_BACKOFF, type SagaPolicy } from "../../lib/saga/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { createOrchestratorHandler } from "./handlers.ts";
import type { OnApplied } from "./observers.ts";
import { sweepOnce } from "./sweeper.ts";

const log = createLogger("test", { level: "error" });
const policy: SagaPolicy = {
  stepTimeoutMs: 30_000,
  stepGiveUpMs: 120_000,
  compensationGiveUpMs: 3_600_000,
  maxCompensationRetries: 1,
  backoff: DEFAULT_BACKOFF,
};
const signal = new AbortController().signal;

function newOrder(): OrderCreated {
  return {
    orderId: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    customerEmail: "lin@example.com",
    currency: "usd",
    paymentMethod: "pm_card_visa",
    items: [{ productId: crypto.randomUUID(), quantity: 2, unitPriceCents: 1_000 }],
  };
}

function setup(sql: Sql) {
  const applied: AppliedEvent[] = [];
  const handle = createOrchestratorHandler({
    sql,
    log,
    policy,
    sagas,
    onApplied: (chunk) => applied.push(...chunk),
  });
  return {
    applied,
    send: (record: ReturnType<typeof encodeMessage>) => handle([asConsumed(record)], { signal }),
    sendAll: (records: ReturnType<typeof encodeMessage>[]) =>
      handle(records.map((record) => asConsumed(record)), { signal }),
    async saga(orderId: string) {
      const [row] = await sql<{ saga_id: string; status: string; retry_count: number }[]>`
        select saga_id, status, retry_count from orchestrator.sagas where order_id = ${orderId}`;
      return row;
    },
    /** The commands in the outbox for an order, oldest first. */
    async outbox(orderId: string) {
      const rows = await sql<{ topic: string; headers: { metadata: string } }[]>`
        select topic, headers from orchestrator.outbox where key = ${orderId} order by id`;
      return rows.map((row) => ({ topic: row.topic, ...JSON.parse(row.headers.metadata) }));
    },
  };
}

async function replyTo(
  t: ReturnType<typeof setup>,
  orderId: string,
  eventType: EventType,
  body: Record<string, unknown> = {},
) {
  const command = (await t.outbox(orderId)).at(-1);
  await t.send(encodeMessage({
    eventType,
    body: { orderId, ...body } as never,
    sagaId: command.sagaId,
    causationId: command.eventId,
  }));
}

Deno.test("orchestrator stores the order and starts its saga with RESERVE_INVENTORY in one transaction", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    const [stored] =
      await sql`select total_cents::int, status from orchestrator.orders where order_id = ${order.orderId}`;
    assert.deepEqual({ ...stored }, { total_cents: 2_000, status: "PENDING" });
    const saga = await t.saga(order.orderId);
    assert.equal(saga?.status, "IN_PROGRESS");
    const [command] = await t.outbox(order.orderId);
    assert.equal(command.topic, "inventory.commands");
    assert.equal(command.eventType, "RESERVE_INVENTORY");
    assert.equal(command.sagaId, saga?.saga_id);
    const history = await readHistory(sql, saga!.saga_id);
    assert.deepEqual(history.map((h) => [h.fromStatus, h.toStatus, h.eventType, h.actor]), [
      ["STARTED", "IN_PROGRESS", "ORDER_CREATED", "orchestrator"],
    ]);
  });
});

Deno.test("orchestrator never starts a second saga for the same order", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    const record = encodeMessage({ eventType: "ORDER_CREATED", body: order });
    await t.send(record);
    await t.send(record); // redelivered
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order })); // produced twice
    const [{ sagas }] =
      await sql`select count(*)::int as sagas from orchestrator.sagas` as unknown as [
        { sagas: number },
      ];
    assert.equal(sagas, 1);
    assert.equal((await t.outbox(order.orderId)).length, 1);
  });
});

Deno.test("orchestrator completes a saga from the replies and confirms the order", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    await replyTo(t, order.orderId, "INVENTORY_RESERVED");
    // Charged less than the total (a test's liberty): the notification must say what was charged.
    await replyTo(t, order.orderId, "PAYMENT_PROCESSED", {
      paymentIntentId: "pi_1",
      amountCents: 1_999,
    });
    // Each reply is its own transaction: the charge is kept in the saga's data between them.
    const [row] = await sql<{ saga_type: string; data: unknown }[]>`
      select saga_type, data from orchestrator.sagas where order_id = ${order.orderId}`;
    assert.equal(row?.saga_type, "order");
    assert.deepEqual(row?.data, { order, charge: { paymentIntentId: "pi_1", amountCents: 1_999 } });
    const [notify] = await sql<{ value: string }[]>`
      select value from orchestrator.outbox
      where key = ${order.orderId} and topic = 'notification.commands'`;
    assert.equal(JSON.parse(notify!.value).totalCents, 1_999, "what was charged");
    await replyTo(t, order.orderId, "NOTIFICATION_SENT", { notificationId: crypto.randomUUID() });
    assert.equal((await t.saga(order.orderId))?.status, "COMPLETED");
    const [{ status }] =
      await sql`select status from orchestrator.orders where order_id = ${order.orderId}` as unknown as [
        { status: string },
      ];
    assert.equal(status, "CONFIRMED");
    assert.deepEqual((await t.outbox(order.orderId)).map((c) => c.eventType), [
      "RESERVE_INVENTORY",
      "PROCESS_PAYMENT",
      "SEND_NOTIFICATION",
    ]);
    assert.deepEqual(t.applied.map((a) => a.transition.state.status), [
      "IN_PROGRESS",
      "IN_PROGRESS",
      "IN_PROGRESS",
      "COMPLETED",
    ]);
  });
});

Deno.test("orchestrator records and ignores a late reply, and refuses one for an unknown saga", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    const saga = await t.saga(order.orderId);
    await t.send(
      encodeMessage({
        eventType: "PAYMENT_PROCESSED",
        body: { orderId: order.orderId, paymentIntentId: "pi", amountCents: 1 },
        sagaId: saga!.saga_id,
      }),
    );
    const history = await readHistory(sql, saga!.saga_id);
    assert.equal(history.at(-1)?.outcome, "ignored");
    assert.equal((await t.saga(order.orderId))?.status, "IN_PROGRESS");
    await assert.rejects(
      t.send(
        encodeMessage({
          eventType: "INVENTORY_RESERVED",
          body: { orderId: order.orderId },
          sagaId: crypto.randomUUID(),
        }),
      ),
      MalformedMessageError,
    );
  });
});

Deno.test("orchestrator handles a chunk of records in order in one transaction", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const [first, second, third] = [newOrder(), newOrder(), newOrder()];
    const created = encodeMessage({ eventType: "ORDER_CREATED", body: first });
    await t.sendAll([
      created,
      encodeMessage({ eventType: "ORDER_CREATED", body: second }),
      created, // redelivered within the chunk
      encodeMessage({ eventType: "ORDER_CREATED", body: first }), // produced twice
      encodeMessage({ eventType: "ORDER_CREATED", body: third }),
    ]);
    assert.equal(t.applied.length, 3);
    const reserved = async (order: OrderCreated) => {
      const command = (await t.outbox(order.orderId))[0];
      return encodeMessage({
        eventType: "INVENTORY_RESERVED",
        body: { orderId: order.orderId },
        sagaId: command.sagaId,
        causationId: command.eventId,
      });
    };
    const firstReply = await reserved(first);
    // Both sagas move; the first's reply sent again (new event id) is seen against its moved
    // state, so it is recorded and ignored, and the exact redelivery is skipped.
    await t.sendAll([firstReply, await reserved(second), await reserved(first), firstReply]);
    const sagaId = (await t.saga(first.orderId))!.saga_id;
    assert.deepEqual((await readHistory(sql, sagaId)).map((h) => h.outcome), [
      "applied",
      "applied",
      "ignored",
    ]);
    assert.deepEqual((await t.outbox(first.orderId)).map((c) => c.eventType), [
      "RESERVE_INVENTORY",
      "PROCESS_PAYMENT",
    ]);
    assert.deepEqual((await t.outbox(second.orderId)).map((c) => c.eventType), [
      "RESERVE_INVENTORY",
      "PROCESS_PAYMENT",
    ]);
    assert.deepEqual((await t.outbox(third.orderId)).map((c) => c.eventType), [
      "RESERVE_INVENTORY",
    ]);
    const [{ sagas }] =
      await sql`select count(*)::int as sagas from orchestrator.sagas` as unknown as [
        { sagas: number },
      ];
    assert.equal(sagas, 3);
  });
});

Deno.test("orchestrator writes nothing of a chunk when one of its records is refused", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await assert.rejects(
      t.sendAll([
        encodeMessage({ eventType: "ORDER_CREATED", body: order }),
        encodeMessage({
          eventType: "INVENTORY_RESERVED",
          body: { orderId: order.orderId },
          sagaId: crypto.randomUUID(),
        }),
      ]),
      MalformedMessageError,
    );
    assert.equal(await t.saga(order.orderId), undefined);
    assert.deepEqual(await t.outbox(order.orderId), []);
    const [{ claimed }] =
      await sql`select count(*)::int as claimed from orchestrator.processed_messages` as unknown as [
        { claimed: number },
      ];
    assert.equal(claimed, 0);
    assert.deepEqual(t.applied, []);
  });
});

Deno.test("sweepOnce() re-sends an overdue step under its eventId, then fails it in doubt at its horizon", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    const sweep = (at: Date) => sweepOnce({ sql, log, policy, sagas, onApplied: () => {} }, at);
    assert.deepEqual(await sweep(new Date()), [], "nothing due yet");
    const [resent] = await sweep(new Date(Date.now() + policy.stepTimeoutMs + 1_000));
    assert.equal(resent?.transition.state.status, "IN_PROGRESS");
    const [first, again] = await t.outbox(order.orderId);
    assert.equal(again?.eventType, "RESERVE_INVENTORY");
    assert.equal(again?.eventId, first?.eventId, "the same command, the same eventId");
    const sagaId = resent!.transition.state.sagaId;
    const [row] = await sql<{ pending_attempt: number; pending_command_id: string }[]>`
      select pending_attempt, pending_command_id from orchestrator.sagas where saga_id = ${sagaId}`;
    assert.deepEqual({ ...row }, { pending_attempt: 2, pending_command_id: first?.eventId });
    const [gaveUp] = await sweep(new Date(Date.now() + policy.stepGiveUpMs + 1_000));
    assert.equal(gaveUp?.transition.state.status, "COMPENSATING");
    assert.equal(gaveUp?.transition.state.failure?.code, "step_timeout");
    assert.deepEqual((await t.outbox(order.orderId)).map((c) => c.eventType), [
      "RESERVE_INVENTORY",
      "RESERVE_INVENTORY",
      "RELEASE_INVENTORY",
    ]);
    const history = await readHistory(sql, sagaId);
    assert.deepEqual(history.slice(1).map((h) => [h.eventType, h.actor, h.note]), [
      ["DEADLINE_PASSED", "sweeper", "No reply to RESERVE_INVENTORY yet; re-sent (attempt 2)"],
      [
        "DEADLINE_PASSED",
        "sweeper",
        "ReserveInventory failed (step_timeout): No reply to RESERVE_INVENTORY in 2 min " +
        "(sent 2 times); sent RELEASE_INVENTORY",
      ],
    ]);
  });
});

/** The reply topics as the sweep sees them: 3 partitions each. */
const replies: ReplyPartitioning = {
  routes: replyRoutes(ORDER_SAGA),
  partitions: new Map(replyTopics(replyRoutes(ORDER_SAGA)).map((topic) => [topic, 3])),
};

/** An order whose records are all on `partition` of every (3-partition) topic. */
function orderOnPartition(partition: number): OrderCreated {
  for (;;) {
    const order = newOrder();
    if (partitionOf(order.orderId, 3) === partition) return order;
  }
}

/** Records that a replica read `partition` of inventory.replies at `readAt`. */
function readInventoryReplies(
  sql: Sql,
  partition: number,
  readAt: Date,
  holdAfterMs?: number,
) {
  return withTransaction(sql, (tx) =>
    recordReplyReads(tx, {
      reads: [{ topic: "inventory.replies", partition }],
      readAt,
      reader: "test",
      partitioning: replies,
      ...(holdAfterMs === undefined ? {} : { holdAfterMs }),
    }));
}

Deno.test("sweepOnce() passes a deadline only once its reply partition was read after it, and keeps retrying", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const [waiting, other, retrying] = [orderOnPartition(0), orderOnPartition(1), newOrder()];
    for (const order of [waiting, other, retrying]) {
      await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    }
    await replyTo(t, retrying.orderId, "INVENTORY_RESERVED");
    await replyTo(t, retrying.orderId, "PAYMENT_FAILED", { code: "card_declined", reason: "No" });
    await replyTo(t, retrying.orderId, "INVENTORY_RELEASE_FAILED", { code: "db", reason: "Down" });
    const later = new Date(Date.now() + policy.stepTimeoutMs + 1_000);
    const options = { sql, log, policy, sagas, onApplied: () => {}, replies: () => replies };
    // Nobody reads inventory.replies: the deadlines are held; the retry is not.
    const swept = await sweepOnce(options, later);
    assert.deepEqual(swept.map((a) => a.transition.state.key), [retrying.orderId]);
    assert.equal((await t.outbox(waiting.orderId)).length, 1, "deadline held");
    // Read, but before the deadline: a reply might still be on its way.
    await readInventoryReplies(sql, 0, new Date(Date.now() + 10_000));
    assert.deepEqual(await sweepOnce(options, later), []);
    // Read after the deadline: the reply is not there; partition 1 is still unread.
    await readInventoryReplies(sql, 0, later, Infinity);
    const [resent, ...rest] = await sweepOnce(options, later);
    assert.deepEqual(rest, []);
    assert.equal(resent?.transition.state.key, waiting.orderId);
    assert.match(resent?.transition.note ?? "", /re-sent \(attempt 2\)/);
    assert.equal((await t.outbox(other.orderId)).length, 1, "the other partition holds its own");
    // Without reply partitions (a sweep alone), every deadline counts.
    const [alone] = await sweepOnce({ ...options, replies: undefined }, later);
    assert.equal(alone?.transition.state.key, other.orderId);
  });
});

Deno.test("recordReplyReads() pushes the deadlines of a partition nobody read on by the time held", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const [held, elsewhere] = [orderOnPartition(2), orderOnPartition(0)];
    for (const order of [held, elsewhere]) {
      await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    }
    const pending = async (orderId: string) => {
      const [row] = await sql<{ deadline_at: Date; pending_first_sent_at: Date }[]>`
        select deadline_at, pending_first_sent_at from orchestrator.sagas
        where order_id = ${orderId}`;
      return { deadline: row!.deadline_at.getTime(), sent: row!.pending_first_sent_at.getTime() };
    };
    const before = {
      held: await pending(held.orderId),
      elsewhere: await pending(elsewhere.orderId),
    };
    const readers = () =>
      sql<{ partition: number; read_by: string }[]>`
      select partition, read_by from orchestrator.reply_partitions order by partition`;
    const start = new Date(before.held.sent);
    await readInventoryReplies(sql, 2, start);
    await readInventoryReplies(sql, 0, start);
    // Partition 2 is read again 50 s later (its reader died; another took it over), partition 0
    // every second meanwhile.
    for (let s = 1; s <= 50; s++) {
      await readInventoryReplies(sql, 0, new Date(start.getTime() + s * 1_000));
    }
    const resumed = await readInventoryReplies(sql, 2, new Date(start.getTime() + 50_000));
    assert.deepEqual(resumed, [{ topic: "inventory.replies", partition: 2, heldMs: 50_000 }]);
    const after = {
      held: await pending(held.orderId),
      elsewhere: await pending(elsewhere.orderId),
    };
    assert.deepEqual(after.held, {
      deadline: before.held.deadline + 50_000,
      sent: before.held.sent + 50_000,
    }, "deadline and horizon pushed on by the time held");
    assert.deepEqual(after.elsewhere, before.elsewhere, "a partition that was read holds nothing");
    assert.deepEqual((await readers()).map((r) => r.partition), [0, 2]);
    // Read again a second later: no gap, nothing pushed.
    assert.deepEqual(await readInventoryReplies(sql, 2, new Date(start.getTime() + 51_000)), []);
    assert.deepEqual(await pending(held.orderId), after.held);
  });
});

Deno.test("sweepOnce() retries a failed compensation, then raises COMPENSATION_FAILED to orders.dlq", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const order = newOrder();
    await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    await replyTo(t, order.orderId, "INVENTORY_RESERVED");
    await replyTo(t, order.orderId, "PAYMENT_FAILED", {
      code: "card_declined",
      reason: "Declined",
    });
    await replyTo(t, order.orderId, "INVENTORY_RELEASE_FAILED", {
      code: "db",
      reason: "Release failed",
    });
    assert.equal((await t.saga(order.orderId))?.retry_count, 1);
    const later = new Date(Date.now() + 5_000);
    await sweepOnce({ sql, log, policy, sagas, onApplied: () => {} }, later);
    assert.deepEqual((await t.outbox(order.orderId)).map((c) => c.eventType).slice(-2), [
      "RELEASE_INVENTORY",
      "RELEASE_INVENTORY",
    ]);
    await replyTo(t, order.orderId, "INVENTORY_RELEASE_FAILED", {
      code: "db",
      reason: "Release failed again",
    });
    assert.equal((await t.saga(order.orderId))?.status, "COMPENSATION_FAILED");
    const alert = (await t.outbox(order.orderId)).at(-1);
    assert.equal(alert.topic, "orders.dlq");
    assert.equal(alert.eventType, "COMPENSATION_FAILED");
  });
});

Deno.test("sweepOnce() in two replicas at once handles each due saga exactly once", async () => {
  await withTestDatabase(async ({ sql }) => {
    const t = setup(sql);
    const orders = Array.from({ length: 30 }, newOrder);
    for (const order of orders) {
      await t.send(encodeMessage({ eventType: "ORDER_CREATED", body: order }));
    }
    const later = new Date(Date.now() + policy.stepTimeoutMs + 1_000);
    const sweep = () =>
      sweepOnce({ sql, log, policy, sagas, batchSize: 7, onApplied: () => {} }, later);
    const swept: AppliedEvent[] = [];
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([sweep(), sweep()]);
      swept.push(...a!, ...b!);
    }
    const ids = swept.map((s) => s.transition.state.sagaId);
    assert.equal(ids.length, 30);
    assert.equal(new Set(ids).size, 30, "no saga swept twice");
    const [{ timeouts }] = await sql`
      select count(*)::int as timeouts from orchestrator.saga_history where event_type = 'DEADLINE_PASSED'` as unknown as [
      { timeouts: number },
    ];
    assert.equal(timeouts, 30);
  });
});

Deno.test("orchestrator versions each committed status by the saga's last history row, growing in commit order", async () => {
  await withTestDatabase(async ({ sql }) => {
    const versions: Array<[string, number | undefined]> = [];
    const onApplied: OnApplied = (chunk, byId) =>
      versions.push(
        ...chunk.map(({ transition: { state } }) =>
          [state.status, byId.get(state.sagaId)] as [string, number | undefined]
        ),
      );
    const handle = createOrchestratorHandler({ sql, log, policy, sagas, onApplied });
    const lastHistoryId = async (orderId: string) => {
      const [row] = await sql<{ id: number }[]>`
        select max(h.id)::float8 as id from orchestrator.saga_history h
        join orchestrator.sagas s using (saga_id) where s.order_id = ${orderId}`;
      return row?.id;
    };
    const order = newOrder();
    const other = newOrder();
    await handle([
      asConsumed(encodeMessage({ eventType: "ORDER_CREATED", body: order })),
      asConsumed(encodeMessage({ eventType: "ORDER_CREATED", body: other })),
    ], { signal });
    assert.equal(versions.length, 2);
    assert.equal(versions[0]![1], await lastHistoryId(order.orderId));
    assert.equal(versions[1]![1], await lastHistoryId(other.orderId), "each saga its own");
    // The sweep's transitions are versioned the same way, and later.
    const swept: Array<number | undefined> = [];
    await sweepOnce({
      sql,
      log,
      policy,
      sagas,
      onApplied: (chunk, byId) =>
        swept.push(...chunk.map((a) => byId.get(a.transition.state.sagaId))),
    }, new Date(Date.now() + policy.stepTimeoutMs + 1_000));
    assert.equal(swept.length, 2);
    assert.ok(
      swept.every((v) => v !== undefined && v > Math.max(versions[0]![1]!, versions[1]![1]!)),
    );
    assert.ok(swept.includes(await lastHistoryId(order.orderId)));
  });
});

/**
 * `sql` whose transactions record their round trips: a statement sent while none of its
 * transaction's statements awaits a result starts a new one. Each trip lists its statements.
 */
function recordingRoundTrips(sql: Sql): { sql: Sql; trips: string[][] } {
  const trips: string[][] = [];
  const record = (tx: TransactionSql): TransactionSql => {
    let awaiting = 0;
    return new Proxy(tx, {
      apply(target, thisArg, args: unknown[]) {
        const query = Reflect.apply(target, thisArg, args) as PromiseLike<unknown>;
        const strings = args[0] as { raw?: unknown } | undefined;
        if (!Array.isArray(strings?.raw)) return query;
        const text = (strings as string[]).join("$").replace(/\s+/g, " ").trim();
        // postgres.js sends a statement when it is first awaited: so is it recorded.
        const then = query.then.bind(query);
        let sent = false;
        Object.assign(query, {
          then(...callbacks: Parameters<typeof then>) {
            if (!sent) {
              sent = true;
              if (awaiting++ === 0) trips.push([]);
              trips.at(-1)!.push(text);
              then(() => awaiting--, () => awaiting--);
            }
            return then(...callbacks);
          },
        });
        return query;
      },
    });
  };
  const recording = new Proxy(sql, {
    get(target, property, receiver) {
      if (property !== "begin") return Reflect.get(target, property, receiver);
      return (...args: unknown[]) => {
        const fn = args.pop() as (tx: TransactionSql) => Promise<unknown>;
        return (target.begin as (...a: unknown[]) => Promise<unknown>)(
          ...args,
          (tx: TransactionSql) => fn(record(tx)),
        );
      };
    },
  });
  return { sql: recording, trips };
}

Deno.test("orchestrator reads the status versions in the round trip that writes the history, in the handler and the sweep", async () => {
  await withTestDatabase(async ({ sql }) => {
    const recording = recordingRoundTrips(sql);
    const historyInsert = "insert into orchestrator.saga_history";
    const versionsSelect = "max(h.id)";
    const tripOf = (needle: string) =>
      recording.trips.findIndex((trip) => trip.some((text) => text.includes(needle)));
    const versions: Array<number | undefined> = [];
    const onApplied: OnApplied = (chunk, byId) =>
      versions.push(...chunk.map((a) => byId.get(a.transition.state.sagaId)));
    const handle = createOrchestratorHandler({ sql: recording.sql, log, policy, sagas, onApplied });
    await handle([
      asConsumed(encodeMessage({ eventType: "ORDER_CREATED", body: newOrder() })),
      asConsumed(encodeMessage({ eventType: "ORDER_CREATED", body: newOrder() })),
    ], { signal });
    assert.notEqual(tripOf(historyInsert), -1);
    assert.equal(tripOf(versionsSelect), tripOf(historyInsert));
    recording.trips.length = 0;
    await sweepOnce(
      { sql: recording.sql, log, policy, sagas, onApplied },
      new Date(Date.now() + policy.stepTimeoutMs + 1_000),
    );
    assert.notEqual(tripOf(historyInsert), -1);
    assert.equal(tripOf(versionsSelect), tripOf(historyInsert));
    // Sent with the writes, the select saw their rows: a version of each transition.
    const [row] = await sql<{ last: number }[]>`
      select max(id)::float8 as last from orchestrator.saga_history`;
    assert.equal(versions.length, 4);
    assert.equal(Math.max(...versions.map((v) => v ?? 0)), row?.last);
  });
});
