/**
 * How a participant service handles a command (DESIGN §5): in one PostgreSQL transaction it
 * claims the command's idempotency key, checks that the command comes from the order's saga,
 * applies the business change, and writes the reply to its outbox. A redelivered command is
 * skipped; the reply answers the command by `causationId`. Commands fetched together are handled
 * in one such transaction, in order (a failing chunk is retried one command at a time).
 *
 * A command whose effect is an external call (Stripe, SMTP: a `CallingCommand`) is handled in
 * atomic phases instead, so that no call runs inside a transaction: (1) a short transaction
 * decides from the stored state and records the attempt, or answers at once; (2) the call, with
 * no transaction open, the chunk's calls for different orders overlapping up to a bound;
 * (3) a short transaction claims the key, records the outcome and writes the reply. Commands of
 * one order stay in order: a command waits for the outcome of the order's call before it is
 * decided. A crash between the phases leaves the key unclaimed and the attempt recorded: the
 * redelivered command finds the attempt and repeats the same call (same idempotency key or
 * `Message-ID`), never a second effect. A chunk whose call fails still records the outcomes of
 * the calls that succeeded before it is retried one command at a time.
 */
import { type Sql, type TransactionSql, withTransaction } from "../db/mod.ts";
import { MalformedMessageError } from "../errors/mod.ts";
import { claimMessages } from "../idempotency/mod.ts";
import {
  type BatchHandler,
  oneAtATime,
  type RunningConsumer,
  startConsumer,
} from "../kafka/consumer.ts";
import { Counter } from "prom-client";
import {
  onShutdownSignal,
  openServiceRuntime,
  type RuntimeConfig,
  type ServiceRuntime,
} from "../service/mod.ts";
import type { Logger } from "../log/mod.ts";
import { decodeMessage, encodeMessage, type EventType, type Message } from "../messages/mod.ts";
import type { OutgoingMessage } from "../messages/mod.ts";
import { type OutboxRelay, writeOutbox } from "../outbox/mod.ts";
import { createLimit, DEFAULT_CALL_CONCURRENCY } from "./limit.ts";

export { callConcurrency, createLimit, DEFAULT_CALL_CONCURRENCY, type Limit } from "./limit.ts";

/** A reply: its type and body; ids, saga and causation are filled in by the runtime. */
export type Reply = Pick<OutgoingMessage, "eventType" | "body">;

/** Applies one command inside the transaction and says what to reply. */
export type CommandHandler = (tx: TransactionSql, message: Message, log: Logger) => Promise<Reply>;

/** What phase 1 of a `CallingCommand` came to: a reply at once, or the call to make. */
export type Prepared<C> = { reply: Reply } | { call: C };

/**
 * A command whose effect is an external call, handled in atomic phases (see the module doc).
 * `C` is what to call (as recorded in the attempt), `R` what the call answered.
 */
export interface CallingCommand<C, R> {
  /**
   * Phase 1, in a short transaction: decides from the stored state; answers at once (a repeated
   * command whose outcome is recorded, a tombstone), or records the attempt and returns the call
   * (a recorded attempt found again is repeated as it was recorded).
   */
  prepare(tx: TransactionSql, message: Message, log: Logger): Promise<Prepared<C>>;
  /** Phase 2, outside any transaction: the call; throws to have the command retried. */
  call(call: C, message: Message, log: Logger): Promise<R>;
  /**
   * Phase 3, in a short transaction with the command's key just claimed: records the outcome and
   * says what to reply, or `"again"` to decide the command once more from phase 1 (the call
   * settled what an earlier attempt left open, e.g. a charge, and the command is not answered).
   */
  complete(
    tx: TransactionSql,
    message: Message,
    outcome: { call: C; result: R },
    log: Logger,
  ): Promise<Reply | "again">;
}

/** How a participant handles a command type: in one transaction, or around an external call. */
export type ParticipantCommand = CommandHandler | CallingCommand<unknown, unknown>;

/**
 * Takes, in one statement and one consistent order, the shared locks a chunk's commands will
 * need (e.g. stock rows), so chunks handled at the same time wait on each other instead of
 * deadlocking.
 */
export type ChunkLocker = (tx: TransactionSql, messages: readonly Message[]) => Promise<void>;

/** Options of `createCommandConsumer`. */
export interface CommandConsumerOptions {
  sql: Sql;
  /** The service's schema: its outbox and idempotency keys live there. */
  schema: string;
  log: Logger;
  /** Command types this participant handles; anything else is malformed on its topic. */
  commands: Partial<Record<EventType, ParticipantCommand>>;
  /** Called after each reply is written (metrics). */
  onReply?: (command: EventType, reply: EventType) => void;
  /** The service's relay, handed the replies once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
  /** Locks taken for the whole chunk before any command is applied. */
  lockFirst?: ChunkLocker;
  /**
   * External calls in flight at once, all chunks of this consumer together (default
   * `DEFAULT_CALL_CONCURRENCY`).
   */
  callConcurrency?: number;
}

/** Commands handled in one transaction at most, unless a participant says otherwise. */
const DEFAULT_COMMAND_BATCH = 50;

/** External calls one command may make before it is answered; more is a fault. */
const MAX_AGAIN = 4;

/** A command of the chunk being handled. */
interface Entry {
  /** Its place in the chunk: the commands of one order are handled in this order. */
  index: number;
  message: Message;
  handle: ParticipantCommand;
  log: Logger;
  /** Times its phase 3 said `"again"`. */
  again: number;
}

/** A call decided in phase 1, and after phase 2 what it came to. */
interface Call {
  entry: Entry;
  command: CallingCommand<unknown, unknown>;
  call: unknown;
}
type Settled = Call & ({ ok: true; result: unknown } | { ok: false; error: unknown });

/** What one transaction answered. */
interface Answered {
  entry: Entry;
  reply: Reply;
}

/**
 * Builds the batch handler of a participant's command consumer: a chunk of commands in one
 * transaction, each applied in order, their replies written to the outbox together; commands
 * with an external call around it, in atomic phases (see the module doc).
 */
export function createCommandConsumer(options: CommandConsumerOptions): BatchHandler {
  const { sql, schema } = options;
  const limit = createLimit(options.callConcurrency ?? DEFAULT_CALL_CONCURRENCY);

  /** Writes the replies in the transaction; returns what to hand the relay once committed. */
  function writeReplies(tx: TransactionSql, answered: readonly Answered[]) {
    return writeOutbox(
      tx,
      schema,
      answered.map(({ entry, reply }) => {
        const { sagaId, eventId } = entry.message.metadata;
        return encodeMessage({ ...reply, sagaId, causationId: eventId });
      }),
      { notify: options.relay === undefined },
    );
  }

  function committed(
    outbox: Awaited<ReturnType<typeof writeReplies>>,
    answered: readonly Answered[],
    skipped: readonly Entry[],
  ): void {
    options.relay?.publishCommitted(outbox);
    for (const { log } of skipped) log.info("Duplicate command skipped");
    for (const { entry: { message, log }, reply } of answered) {
      options.onReply?.(message.eventType, reply.eventType);
      log.info("Command handled", { reply: reply.eventType });
    }
  }

  /**
   * Phase 1 (and the whole of a command without a call): one transaction for the round's
   * commands. A command of an order whose call is pending waits for the next round; its key, and
   * the key of a command that makes a call, are claimed only once it is answered.
   */
  async function decide(round: readonly Entry[], first: boolean) {
    const { outbox, answered, skipped, calls, later } = await withTransaction(sql, async (tx) => {
      const messages = round.map((entry) => entry.message);
      // Independent: sent together (pipelined), one round trip. A redelivered command passes the
      // saga check again: it passed it the first time.
      const [claims] = await Promise.all([
        claimMessages(tx, schema, messages),
        first ? checkOrderSagas(tx, schema, messages) : undefined,
        first ? options.lockFirst?.(tx, messages) : undefined,
      ]);
      const answered: Answered[] = [];
      const skipped: Entry[] = [];
      const calls: Call[] = [];
      const later: Entry[] = [];
      const calling = new Set<string>();
      for (const [index, entry] of round.entries()) {
        const { message, handle, log } = entry;
        if (claims[index] !== "new") {
          skipped.push(entry);
        } else if (calling.has(message.metadata.orderId)) {
          later.push(entry);
        } else if (typeof handle === "function") {
          answered.push({ entry, reply: await handle(tx, message, log) });
        } else {
          const prepared = await handle.prepare(tx, message, log);
          if ("reply" in prepared) {
            answered.push({ entry, reply: prepared.reply });
          } else {
            calls.push({ entry, command: handle, call: prepared.call });
            calling.add(message.metadata.orderId);
          }
        }
      }
      await releaseClaims(tx, schema, [...calls.map((call) => call.entry), ...later]);
      return { outbox: await writeReplies(tx, answered), answered, skipped, calls, later };
    });
    committed(outbox, answered, skipped);
    return { calls, later };
  }

  /** Phase 3: one transaction claims the keys, records the outcomes and writes the replies. */
  async function complete(done: readonly (Call & { result: unknown })[]): Promise<Entry[]> {
    if (done.length === 0) return [];
    const { outbox, answered, skipped, again } = await withTransaction(sql, async (tx) => {
      const claims = await claimMessages(tx, schema, done.map(({ entry }) => entry.message));
      const answered: Answered[] = [];
      const skipped: Entry[] = [];
      const again: Entry[] = [];
      for (const [index, { entry, command, call, result }] of done.entries()) {
        // Answered meanwhile by another consumer of the partition (a rebalance): the call it
        // repeated had the same key, so nothing happened twice.
        if (claims[index] !== "new") {
          skipped.push(entry);
          continue;
        }
        const reply = await command.complete(tx, entry.message, { call, result }, entry.log);
        if (reply !== "again") {
          answered.push({ entry, reply });
        } else if (++entry.again < MAX_AGAIN) {
          again.push(entry);
        } else {
          throw new Error(
            `Cannot handle ${entry.message.eventType} ${entry.message.metadata.eventId}: still undecided after ${MAX_AGAIN} external calls`,
          );
        }
      }
      await releaseClaims(tx, schema, again);
      return { outbox: await writeReplies(tx, answered), answered, skipped, again };
    });
    committed(outbox, answered, skipped);
    return again;
  }

  return async function handleCommands(records) {
    let round: Entry[] = records.map((record, index) => {
      const message = decodeMessage(record);
      const handle = options.commands[message.eventType];
      if (handle === undefined) {
        throw new MalformedMessageError(
          `${message.eventType} is not a command the ${schema} service handles`,
        );
      }
      const { sagaId, orderId, eventId } = message.metadata;
      const log = options.log.child({ sagaId, orderId, eventType: message.eventType, eventId });
      return { index, message, handle, log, again: 0 };
    });
    for (let first = true; round.length > 0; first = false) {
      const { calls, later } = await decide(round, first);
      // Phase 2: no transaction open; the calls of different orders overlap.
      const settled = await Promise.all(
        calls.map((call): Promise<Settled> =>
          limit(() => call.command.call(call.call, call.entry.message, call.entry.log)).then(
            (result) => ({ ...call, ok: true, result }),
            (error) => ({ ...call, ok: false, error }),
          )
        ),
      );
      const again = await complete(
        settled.flatMap((outcome) => (outcome.ok ? [outcome] : [])),
      );
      const failed = settled.find((outcome) => !outcome.ok);
      if (failed !== undefined && !failed.ok) throw failed.error;
      round = [...again, ...later].sort((a, b) => a.index - b.index);
    }
  };
}

/**
 * Gives back the idempotency keys `claimMessages` took in this transaction for commands it does
 * not answer (yet): their keys are claimed by the transaction that writes their reply.
 */
async function releaseClaims(
  tx: TransactionSql,
  schema: string,
  entries: readonly Entry[],
): Promise<void> {
  if (entries.length === 0) return;
  await tx`delete from ${tx(`${schema}.processed_messages`)}
    where event_id = any(${entries.map((entry) => entry.message.metadata.eventId)}::uuid[])`;
}

/**
 * Records the saga of each command's order the first time the order is seen; a command that
 * names another saga for an order already bound (a saga that does not exist: every order has
 * exactly one) is malformed. Without this, a stray `REFUND_PAYMENT` or `RELEASE_INVENTORY` under
 * a made-up saga id would undo a completed order's charge or reservation. Two statements for
 * any number of commands.
 */
export async function checkOrderSagas(
  tx: TransactionSql,
  schema: string,
  messages: readonly Message[],
): Promise<void> {
  const named = messages.filter((message) => message.metadata.sagaId !== undefined);
  if (named.length === 0) return;
  const table = tx(`${schema}.order_sagas`);
  const orderIds = named.map((m) => m.metadata.orderId);
  // Pipelined: the select runs after the insert and sees its rows.
  const [, rows] = await Promise.all([
    tx`insert into ${table} (order_id, saga_id)
      select * from unnest(${orderIds}::uuid[], ${named.map((m) => m.metadata.sagaId!)}::uuid[])
      on conflict (order_id) do nothing`,
    tx<{ order_id: string; saga_id: string }[]>`
      select order_id, saga_id from ${table} where order_id = any(${orderIds}::uuid[])`,
  ]);
  const bound = new Map(rows.map((row) => [row.order_id, row.saga_id]));
  for (const { metadata: { orderId, sagaId, eventType } } of named) {
    const owner = bound.get(orderId);
    if (owner !== undefined && owner !== sagaId) {
      throw new MalformedMessageError(
        `${eventType} names saga "${sagaId}", which does not exist: order "${orderId}" belongs to saga "${owner}"`,
      );
    }
  }
}

/** Options of `startParticipant`. */
export interface ParticipantOptions {
  /** Consumer group of the service (DESIGN §3), e.g. `inventory-service`. */
  groupId: string;
  /** The command topic it consumes. */
  topic: string;
  commands: CommandConsumerOptions["commands"];
  /** Where a new group starts (default: the beginning, so no command is missed). */
  fromBeginning?: boolean;
  /** Commands handled in one transaction at most (default `DEFAULT_COMMAND_BATCH`). */
  batchSize?: number;
  /** Partitions handled at the same time, each chunk in its own transaction (default 1). */
  concurrency?: number;
  /** Locks taken for each chunk first; needed when chunks of several partitions contend. */
  lockFirst?: ChunkLocker;
  /** External calls in flight at once, all partitions together (default 16). */
  callConcurrency?: number;
}

/** Starts consuming a participant's commands on an open runtime; stopped when it closes. */
export async function startParticipant(
  runtime: ServiceRuntime,
  options: ParticipantOptions,
): Promise<RunningConsumer> {
  const { metrics, log } = runtime;
  const repliesSent = new Counter({
    name: "participant_replies_total",
    help: "Replies written to the outbox, by command and reply type",
    labelNames: ["command", "reply"] as const,
    registers: [metrics.registry],
  });
  const handleCommands = createCommandConsumer({
    sql: runtime.sql,
    schema: runtime.schema,
    log,
    commands: options.commands,
    onReply: (command, reply) => repliesSent.inc({ command, reply }),
    relay: runtime.relay,
    ...(options.lockFirst === undefined ? {} : { lockFirst: options.lockFirst }),
    ...(options.callConcurrency === undefined ? {} : { callConcurrency: options.callConcurrency }),
  });
  const consumer = await startConsumer(runtime.kafka, {
    groupId: options.groupId,
    topics: [options.topic],
    producer: runtime.producer,
    log,
    handler: oneAtATime(handleCommands),
    batch: { handler: handleCommands, maxRecords: options.batchSize ?? DEFAULT_COMMAND_BATCH },
    partitionsConcurrently: options.concurrency ?? 1,
    onOutcome: (topic, outcome) => metrics.kafkaMessagesConsumed.inc({ topic, outcome }),
    fromBeginning: options.fromBeginning,
  });
  runtime.onClose(() => consumer.stop());
  return consumer;
}

/** Options of `runParticipantService`. */
export interface ParticipantServiceOptions {
  /** Service name; also its PostgreSQL schema. */
  name: string;
  config: RuntimeConfig;
  opsPort: number;
  /** Consumer group (DESIGN §3), e.g. `payment-service`. */
  groupId: string;
  /** The command topic it consumes. */
  topic: string;
  /** Builds the command handlers once the runtime is open (clients, metrics, closers). */
  commands: (runtime: ServiceRuntime) => CommandConsumerOptions["commands"];
  /** Partitions handled at the same time (default 1). */
  concurrency?: number;
  /** Locks taken for each chunk first (see `ChunkLocker`). */
  lockFirst?: ChunkLocker;
  /** External calls in flight at once, all partitions together (default 16). */
  callConcurrency?: number;
}

/** A participant's whole life: open, consume commands until SIGINT or SIGTERM, close in order. */
export async function runParticipantService(options: ParticipantServiceOptions): Promise<void> {
  const runtime = await openServiceRuntime({
    name: options.name,
    schema: options.name,
    config: options.config,
    opsPort: options.opsPort,
  });
  try {
    await startParticipant(runtime, {
      groupId: options.groupId,
      topic: options.topic,
      commands: options.commands(runtime),
      concurrency: options.concurrency ?? 1,
      ...(options.lockFirst === undefined ? {} : { lockFirst: options.lockFirst }),
      ...(options.callConcurrency === undefined
        ? {}
        : { callConcurrency: options.callConcurrency }),
    });
    runtime.log.info("Service running", { groupId: options.groupId, topic: options.topic });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}
