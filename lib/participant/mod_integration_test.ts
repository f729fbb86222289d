/**
 * The participant runtime's atomic phases against a real PostgreSQL: a chunk of commands handed
 * to `createCommandConsumer` as the consumer runner would, with a `CallingCommand` whose call is
 * a function of the test.
 */
import assert from "node:assert/strict";
import { InfrastructureError } from "../errors/mod.ts";
import { createLogger } from "../log/mod.ts";
import { encodeMessage, type Message } from "../messages/mod.ts";
import type { Sql, TransactionSql } from "../db/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { capturingLogger, handledLines } from "../../testing/log.ts";
import { type CallingCommand, type ChunkCommand, createCommandConsumer } from "./mod.ts";

const log = createLogger("participant-test", { level: "error" });
const signal = new AbortController().signal;

function charge(orderId: string, sagaId: string) {
  return encodeMessage({
    eventType: "PROCESS_PAYMENT",
    body: {
      orderId,
      customerId: crypto.randomUUID(),
      amountCents: 100,
      currency: "usd",
      paymentMethod: "pm_card_visa",
    },
    sagaId,
  });
}

/** A chunk's records: `orders[i]` commands for the i-th order, interleaved as listed. */
function chunkOf(orderIds: readonly string[]) {
  const sagas = new Map<string, string>();
  return orderIds.map((orderId, offset) => {
    if (!sagas.has(orderId)) sagas.set(orderId, crypto.randomUUID());
    return asConsumed(charge(orderId, sagas.get(orderId)!), offset);
  });
}

async function count(sql: Sql, what: "outbox" | "processed_messages"): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from ${sql(`payment.${what}`)}`;
  return row!.n;
}

/** Transactions held open on the test database right now, waiting on their client. */
async function openTransactions(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and state like 'idle in transaction%'`;
  return row!.n;
}

interface Recorded {
  prepared: string[];
  calls: string[];
  completed: string[];
  inFlight: number;
  mostInFlight: number;
  openDuringCalls: number;
}

/** A command whose call waits `ms` and records what happened; `fail` decides a call's error. */
function recordingCommand(
  sql: Sql,
  options: { ms: number; fail?: (message: Message) => Error | undefined; again?: Set<string> },
): CallingCommand<string, string> & { recorded: Recorded } {
  const recorded: Recorded = {
    prepared: [],
    calls: [],
    completed: [],
    inFlight: 0,
    mostInFlight: 0,
    openDuringCalls: 0,
  };
  return {
    recorded,
    prepare(_tx, message) {
      recorded.prepared.push(message.metadata.eventId);
      return Promise.resolve({ call: message.metadata.eventId });
    },
    async call(call, message) {
      recorded.calls.push(call);
      recorded.mostInFlight = Math.max(recorded.mostInFlight, ++recorded.inFlight);
      try {
        recorded.openDuringCalls = Math.max(recorded.openDuringCalls, await openTransactions(sql));
        await new Promise((resolve) => setTimeout(resolve, options.ms));
        const error = options.fail?.(message);
        if (error !== undefined) throw error;
        return `answer to ${call}`;
      } finally {
        recorded.inFlight--;
      }
    },
    complete(_tx, message, { result }) {
      const { eventId, orderId } = message.metadata;
      if (options.again?.delete(eventId)) return Promise.resolve("again" as const);
      recorded.completed.push(eventId);
      assert.equal(result, `answer to ${eventId}`);
      return Promise.resolve({
        eventType: "PAYMENT_FAILED",
        body: { orderId, code: "test", reason: result },
      });
    },
  };
}

/** The replies in the outbox, in the order they were written. */
async function outboxReplies(sql: Sql) {
  const rows = await sql<{ metadata: string; value: string }[]>`
    select headers->>'metadata' as metadata, value from payment.outbox order by id`;
  return rows.map((row) => {
    const metadata = JSON.parse(row.metadata);
    return {
      eventType: metadata.eventType as string,
      eventId: metadata.eventId as string,
      causationId: metadata.causationId as string,
      body: JSON.parse(row.value) as unknown,
    };
  });
}

const eventIdOf = (record: ReturnType<typeof asConsumed>) =>
  JSON.parse(record.headers.metadata!).eventId as string;

Deno.test("createCommandConsumer() makes the calls of different orders at once, up to its bound, with no transaction open, and those of one order in turn", async () => {
  await withTestDatabase(async (db) => {
    const command = recordingCommand(db.sql, { ms: 100 });
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: command },
      callConcurrency: 3,
    });
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => crypto.randomUUID());
    const records = chunkOf([a!, b!, a!, c!, d!, a!, e!]);
    await handle(records, { signal });
    const ids = records.map(eventIdOf);
    const ofA = [ids[0], ids[2], ids[5]];
    assert.equal(command.recorded.mostInFlight, 3, "at most 3 calls at once, and 3 reached");
    assert.equal(command.recorded.openDuringCalls, 0, "no transaction open during the calls");
    assert.deepEqual(command.recorded.calls.filter((id) => ofA.includes(id)), ofA);
    assert.deepEqual(command.recorded.completed.toSorted(), ids.toSorted(), "each once");
    assert.equal(await count(db.sql, "outbox"), 7);
    assert.equal(await count(db.sql, "processed_messages"), 7);

    await handle(records, { signal });
    assert.equal(command.recorded.calls.length, 7, "a redelivered chunk calls nothing again");
    assert.equal(command.recorded.prepared.length, 7, "nor decides anything again");
    // Each command is answered again, from its record: the same reply to the same command.
    const replies = await outboxReplies(db.sql);
    assert.equal(replies.length, 14);
    const first = new Map(replies.slice(0, 7).map((r) => [r.causationId, r]));
    for (const again of replies.slice(7)) {
      const before = first.get(again.causationId);
      assert.ok(before !== undefined, `a repeat answers ${again.causationId}`);
      assert.deepEqual([again.eventType, again.body], [before.eventType, before.body]);
      assert.notEqual(again.eventId, before.eventId);
    }
  });
});

Deno.test("createCommandConsumer() decides the orders of a chunk of calls at once, and a ChunkCommand's commands in memory, in chunk order", async () => {
  await withTestDatabase(async (db) => {
    const [a, b, c] = Array.from({ length: 3 }, () => crypto.randomUUID());
    const records = chunkOf([a!, b!, a!, c!, b!]);
    const ids = records.map(eventIdOf);
    let deciding = 0;
    let mostDeciding = 0;
    const decided: string[] = [];
    /** Runs a phase-1 decision that waits on the database, noting how many overlap. */
    async function noting<T>(tx: TransactionSql, message: Message, reply: T): Promise<T> {
      mostDeciding = Math.max(mostDeciding, ++deciding);
      await tx`select pg_sleep(0.02)`;
      deciding--;
      decided.push(message.metadata.eventId);
      return reply;
    }
    const calling: CallingCommand<string, string> = {
      prepare: (tx, message) => noting(tx, message, { call: message.metadata.eventId }),
      call: (call) => Promise.resolve(call),
      complete: (_tx, message) =>
        Promise.resolve({
          eventType: "PAYMENT_FAILED",
          body: { orderId: message.metadata.orderId, code: "test", reason: "test" },
        }),
    };
    await createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: calling },
    })(records, { signal });
    assert.equal(mostDeciding, 3, "the 3 orders decided at once");
    assert.deepEqual(decided.filter((id) => id === ids[0] || id === ids[2]), [ids[0], ids[2]]);
    assert.deepEqual(
      (await outboxReplies(db.sql)).map((r) => r.causationId).toSorted(),
      ids.toSorted(),
    );

    await db.sql`truncate payment.outbox, payment.processed_messages`;
    const loads: number[] = [];
    const writes: string[][] = [];
    /** Decided in memory: the state is the eventIds decided so far in the chunk. */
    const chunked: ChunkCommand<string[], string> = {
      load: async (tx, messages) => {
        await tx`select 1`;
        loads.push(messages.length);
        return [];
      },
      decide: (state, message) => ({
        state: [...state, message.metadata.eventId],
        writes: [`${state.length}:${message.metadata.eventId}`],
        reply: {
          eventType: "PAYMENT_FAILED",
          body: { orderId: message.metadata.orderId, code: "test", reason: "test" },
        },
      }),
      write: (tx, chunkWrites) => {
        writes.push([...chunkWrites]);
        return tx`select 1`.then(() => {});
      },
    };
    await createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: chunked },
    })(records, { signal });
    assert.deepEqual(loads, [5], "loaded once, for the whole chunk");
    assert.deepEqual(
      writes,
      [ids.map((id, i) => `${i}:${id}`)],
      "decided in chunk order, each from the state the ones before left, written once",
    );
    assert.deepEqual((await outboxReplies(db.sql)).map((r) => r.causationId), ids);
  });
});

Deno.test("createCommandConsumer() refuses commands that mix a ChunkCommand with another kind", () => {
  const chunked: ChunkCommand<null, never> = {
    load: () => Promise.resolve(null),
    decide: (state, message) => ({
      state,
      writes: [],
      reply: { eventType: "PAYMENT_REFUNDED", body: { orderId: message.metadata.orderId } },
    }),
    write: () => Promise.resolve(),
  };
  const other = { ...chunked };
  const calling: CallingCommand<null, null> = {
    prepare: () => Promise.resolve({ call: null }),
    call: () => Promise.resolve(null),
    complete: (_tx, message) =>
      Promise.resolve({
        eventType: "PAYMENT_REFUNDED",
        body: { orderId: message.metadata.orderId },
      }),
  };
  const consumer = (commands: Parameters<typeof createCommandConsumer>[0]["commands"]) =>
    createCommandConsumer({ sql: null as never, schema: "payment", log, commands });
  assert.throws(
    () => consumer({ PROCESS_PAYMENT: chunked, REFUND_PAYMENT: calling }),
    /all one ChunkCommand/,
  );
  assert.throws(
    () => consumer({ PROCESS_PAYMENT: chunked, REFUND_PAYMENT: other }),
    /all one ChunkCommand/,
  );
  consumer({ PROCESS_PAYMENT: chunked, REFUND_PAYMENT: chunked });
  consumer({ PROCESS_PAYMENT: calling, REFUND_PAYMENT: calling });
});

Deno.test("createCommandConsumer() records the outcomes of a chunk's good calls before a failed call fails the chunk, and leaves the failed command's key unclaimed", async () => {
  await withTestDatabase(async (db) => {
    const records = chunkOf([crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]);
    const ids = records.map(eventIdOf);
    let refusing = true;
    const command = recordingCommand(db.sql, {
      ms: 10,
      fail: (message) =>
        refusing && message.metadata.eventId === ids[2]
          ? new InfrastructureError("The provider is away")
          : undefined,
    });
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: command },
    });
    await assert.rejects(handle(records, { signal }), InfrastructureError);
    assert.deepEqual(command.recorded.completed.toSorted(), [ids[0], ids[1]].toSorted());
    const claimed = await db.sql<{ event_id: string }[]>`
      select event_id from payment.processed_messages`;
    assert.deepEqual(claimed.map((row) => row.event_id).toSorted(), [ids[0], ids[1]].toSorted());

    // Retried one at a time, as the consumer runner does: the first two are answered again from
    // their record, with no call.
    refusing = false;
    for (const record of records) await handle([record], { signal });
    assert.deepEqual(command.recorded.calls.toSorted(), [...ids, ids[2]].toSorted());
    const replies = await outboxReplies(db.sql);
    assert.deepEqual(replies.map((r) => r.causationId), [ids[0], ids[1], ids[0], ids[1], ids[2]]);
  });
});

Deno.test("createCommandConsumer() decides a command again after a call whose completion says so, and answers it once", async () => {
  await withTestDatabase(async (db) => {
    const orderId = crypto.randomUUID();
    const records = chunkOf([orderId, orderId]);
    const ids = records.map(eventIdOf);
    const command = recordingCommand(db.sql, { ms: 5, again: new Set([ids[0]!]) });
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: command },
    });
    await handle(records, { signal });
    assert.deepEqual(command.recorded.prepared, [ids[0], ids[0], ids[1]]);
    assert.deepEqual(command.recorded.completed, [ids[0], ids[1]]);
    const replies = await db.sql<{ causation: string }[]>`
      select headers->>'metadata' as causation from payment.outbox order by id`;
    assert.deepEqual(replies.map((row) => JSON.parse(row.causation).causationId), ids);
  });
});

Deno.test("createCommandConsumer() answers each copy of a command in one chunk with its one reply, calling once", async () => {
  await withTestDatabase(async (db) => {
    const [record] = chunkOf([crypto.randomUUID()]);
    const other = chunkOf([crypto.randomUUID()])[0]!;
    const command = recordingCommand(db.sql, { ms: 5 });
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: command },
    });
    await handle([record!, record!, other, record!], { signal });
    assert.deepEqual(command.recorded.calls, [eventIdOf(record!), eventIdOf(other)]);
    const replies = await outboxReplies(db.sql);
    const ofRecord = replies.filter((r) => r.causationId === eventIdOf(record!));
    assert.equal(ofRecord.length, 3, "one reply per copy");
    assert.equal(new Set(ofRecord.map((r) => JSON.stringify(r.body))).size, 1, "the same reply");
    assert.equal(replies.length, 4);
    assert.equal(await count(db.sql, "processed_messages"), 2);
  });
});

Deno.test("createCommandConsumer() answers a one-transaction command delivered again from its record, applying it once", async () => {
  await withTestDatabase(async (db) => {
    let applied = 0;
    const chunked: ChunkCommand<null, string> = {
      load: () => Promise.resolve(null),
      decide: (state, message) => {
        applied++;
        const { orderId } = message.metadata;
        return {
          state,
          writes: [],
          reply: {
            eventType: "PAYMENT_FAILED",
            body: { orderId, code: "test", reason: `applied ${applied}` },
          },
        };
      },
      write: () => Promise.resolve(),
    };
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: chunked },
    });
    const [record] = chunkOf([crypto.randomUUID()]);
    for (let i = 0; i < 3; i++) await handle([record!], { signal });
    await handle([record!, record!], { signal });
    assert.equal(applied, 1);
    const replies = await outboxReplies(db.sql);
    assert.equal(replies.length, 5);
    assert.deepEqual(new Set(replies.map((r) => r.causationId)), new Set([eventIdOf(record!)]));
    assert.deepEqual(
      new Set(replies.map((r) => (r.body as { reason: string }).reason)),
      new Set([
        "applied 1",
      ]),
    );
  });
});

Deno.test("createCommandConsumer() leaves a command that awaits an outcome unanswered, redelivered or not, until resumeAwaiting finds it final", async () => {
  await withTestDatabase(async (db) => {
    let final = false;
    const calls: string[] = [];
    const command: CallingCommand<string, string> = {
      prepare(_tx, message) {
        // Once the call said "not final", a later decision waits too, as payment's does.
        return Promise.resolve(
          calls.length > 0 && !final
            ? { awaiting: "the test outcome is not final" }
            : calls.length > 0
            ? {
              reply: {
                eventType: "PAYMENT_PROCESSED",
                body: {
                  orderId: message.metadata.orderId,
                  paymentIntentId: "pi_x",
                  amountCents: 1,
                },
              },
            }
            : { call: message.metadata.eventId },
        );
      },
      call(call) {
        calls.push(call);
        return Promise.resolve("not final");
      },
      complete() {
        return Promise.resolve({ awaiting: "the test outcome is not final" });
      },
    };
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: { PROCESS_PAYMENT: command },
    });
    const [record] = chunkOf([crypto.randomUUID()]);
    const orderId = JSON.parse(record!.headers.metadata!).orderId as string;
    await handle([record!], { signal });
    await handle([record!, record!], { signal });
    assert.deepEqual(calls, [eventIdOf(record!)], "called once");
    assert.equal(await count(db.sql, "outbox"), 0, "nothing answered while it awaits");
    await handle.resumeAwaiting([orderId]);
    assert.equal(await count(db.sql, "outbox"), 0, "still not final: still unanswered");

    final = true;
    await handle.resumeAwaiting([orderId]);
    await handle.resumeAwaiting([orderId]);
    await handle([record!], { signal });
    const replies = await outboxReplies(db.sql);
    assert.deepEqual(replies.map((r) => [r.eventType, r.causationId]), [
      ["PAYMENT_PROCESSED", eventIdOf(record!)],
      ["PAYMENT_PROCESSED", eventIdOf(record!)],
    ], "answered once it is final, then once more for the delivery after");
    assert.deepEqual(calls, [eventIdOf(record!)]);
    const [row] = await db.sql<{ awaiting: boolean; command: string | null }[]>`
      select awaiting, command from payment.processed_messages`;
    assert.deepEqual(row, { awaiting: false, command: null });
  });
});

Deno.test("createCommandConsumer() logs one info line per command handled, with a failure reply's code and reason", async () => {
  await withTestDatabase(async (db) => {
    const { log, lines } = capturingLogger("participant-test");
    const [charged, declined] = [crypto.randomUUID(), crypto.randomUUID()];
    const records = chunkOf([charged, declined]);
    const handle = createCommandConsumer({
      sql: db.sql,
      schema: "payment",
      log,
      commands: {
        PROCESS_PAYMENT: {
          load: () => Promise.resolve(null),
          decide(state, message, log) {
            const { orderId } = message.metadata;
            log.debug("Deciding the charge"); // a handler's details: at debug
            return {
              state,
              writes: [],
              reply: orderId === charged
                ? {
                  eventType: "PAYMENT_PROCESSED",
                  body: { orderId, paymentIntentId: "pi_1", amountCents: 100 },
                }
                : {
                  eventType: "PAYMENT_FAILED",
                  body: { orderId, code: "card_declined", reason: "Your card was declined." },
                },
            };
          },
          write: () => Promise.resolve(),
        } satisfies ChunkCommand<null, never, "PROCESS_PAYMENT">,
      },
    });
    await handle(records, { signal });
    await handle([records[1]!], { signal }); // redelivered: answered from its record
    assert.deepEqual(handledLines(lines), [
      ["info", "Command handled", charged, "PAYMENT_PROCESSED", undefined, undefined],
      [
        "info",
        "Command handled",
        declined,
        "PAYMENT_FAILED",
        "card_declined",
        "Your card was declined.",
      ],
      [
        "info",
        "Repeated command answered from its record",
        declined,
        "PAYMENT_FAILED",
        "card_declined",
        "Your card was declined.",
      ],
    ]);
  });
});
