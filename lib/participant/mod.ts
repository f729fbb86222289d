/**
 * How a participant service handles a command (DESIGN §5): in one PostgreSQL transaction it
 * claims the command's idempotency key, checks that the command comes from the order's saga,
 * applies the business change, and writes the reply to its outbox, recording it with the key.
 * The reply answers the command by `causationId`. Commands fetched together are handled in one
 * such transaction, set-based (a `ChunkCommand`): what they need is read and locked in one round
 * trip with the claims, each command is decided in memory in chunk order, and the changes are
 * written with the replies, one statement per kind of write, whatever the chunk's size (a
 * failing chunk is retried one command at a time).
 *
 * A command handled before (the same eventId and body: a redelivery, or the orchestrator sending
 * it again past its deadline, DESIGN §4) is answered from its record: the reply recorded with its
 * key is written again (a fresh eventId, the same body and `causationId`), and nothing is applied
 * again. Copies of one command in one chunk get one reply each, the same. A command that awaits
 * an outcome still moving (`Awaiting`) is answered by nobody until the outcome is final.
 *
 * A command whose effect is an external call (Stripe, SMTP: a `CallingCommand`) is handled in
 * atomic phases instead, so that no call runs inside a transaction: (1) a short transaction
 * decides from the stored state and records the attempt, or answers at once, the chunk's orders
 * decided at once (their statements pipelined on the transaction: one round trip, not one per
 * command), each order's commands in turn; (2) the call, with no transaction open, the chunk's
 * calls for different orders overlapping up to a bound; (3) a short transaction claims the key,
 * records the outcome and writes the reply, the orders' outcomes again at once. Commands of
 * one order stay in order: a command waits for the outcome of the order's call before it is
 * decided. A crash between the phases leaves the key unclaimed and the attempt recorded: the
 * redelivered command finds the attempt and repeats the same call (same idempotency key or
 * `Message-ID`), never a second effect. A chunk whose call fails still records the outcomes of
 * the calls that succeeded before it is retried one command at a time.
 *
 * A command handled logs one line at info, once its transaction committed: `Command handled`
 * with the reply (and a failure reply's code and reason), or why it is not answered (a
 * duplicate, an outcome awaited) or answered from its record. A handler logs the details of its
 * outcome at debug, and at info only what that line cannot say (a tombstone written, an attempt
 * recorded earlier repeated), warnings at warn.
 */
import { type Sql, type TransactionSql, withTransaction } from "../db/mod.ts";
import { MalformedMessageError } from "../errors/mod.ts";
import {
  awaitingCommands,
  awaitReplies,
  claimCommands,
  type CommandClaim,
  recordReplies,
  releaseClaims,
} from "../idempotency/mod.ts";
import { type BatchHandler, type RunningConsumer, startConsumer } from "../kafka/consumer.ts";
import { Counter } from "prom-client";
import {
  onShutdownSignal,
  openServiceRuntime,
  type RuntimeConfig,
  type ServiceRuntime,
} from "../service/mod.ts";
import type { LogFields, Logger } from "../log/mod.ts";
import {
  decodeMessage,
  encodeMessage,
  EVENTS,
  type EventType,
  FailureReply,
  type Message,
} from "../messages/mod.ts";
import type { OutgoingMessage } from "../messages/mod.ts";
import { type OutboxRelay, writeOutbox } from "../outbox/mod.ts";
import { createLimit, DEFAULT_CALL_CONCURRENCY } from "./limit.ts";

export { callConcurrency, createLimit, DEFAULT_CALL_CONCURRENCY, type Limit } from "./limit.ts";

/** A reply: its type and body; ids, saga and causation are filled in by the runtime. */
export type Reply = Pick<OutgoingMessage, "eventType" | "body">;

/**
 * Commands applied in one transaction, those of a chunk at once (set-based): `load` reads and
 * locks, in one round trip sent with the claims, what the chunk's commands need; `decide`
 * answers each command in chunk order from the state the commands before it left, with no I/O;
 * `write` applies the chunk's changes, one statement per kind of write. One value serves every
 * command type that shares the state (e.g. reserving and releasing stock): a participant's
 * commands are all one `ChunkCommand`, or all `CallingCommand`s.
 */
export interface ChunkCommand<S, W, T extends EventType = EventType> {
  /** Reads and locks what the chunk's commands need (duplicates included), in one round trip. */
  load(tx: TransactionSql, messages: readonly Message[]): Promise<S>;
  /** Answers one command from `state`; returns the state after it and what to write. */
  decide(state: S, message: Message<T>, log: Logger): Decided<S, W>;
  /** Writes the changes of the chunk's commands, in their order, set-based. */
  write(tx: TransactionSql, writes: readonly W[]): Promise<void>;
}

/** What `ChunkCommand.decide` came to for one command. */
export interface Decided<S, W> {
  reply: Reply;
  /** The state the next command of the chunk is decided from. */
  state: S;
  writes: readonly W[];
}

/**
 * A command left unanswered for now: it awaits an outcome still moving (a PaymentIntent
 * `processing`, a refund `pending`). Its key stays claimed with no reply, and the command is kept
 * with it: a redelivered copy in the same chunk is skipped, a later one is decided again (and
 * waits again, with no call, when the participant's decision says so), and `resumeAwaiting`
 * decides it again once the outcome is final.
 */
export interface Awaiting {
  /** Why, for the log. */
  awaiting: string;
}

/** What phase 1 of a `CallingCommand` came to: a reply at once, the call to make, or a wait. */
export type Prepared<C> = { reply: Reply } | { call: C } | Awaiting;

/**
 * A command of type `T` whose effect is an external call, handled in atomic phases (see the
 * module doc). `C` is what to call (as recorded in the attempt), `R` what the call answered.
 * Its phases touch only the state of the message's order: those of different orders run at once.
 */
export interface CallingCommand<C, R, T extends EventType = EventType> {
  /**
   * Phase 1, in a short transaction: decides from the stored state; answers at once (a repeated
   * command whose outcome is recorded, a tombstone), or records the attempt and returns the call
   * (a recorded attempt found again is repeated as it was recorded).
   */
  prepare(tx: TransactionSql, message: Message<T>, log: Logger): Promise<Prepared<C>>;
  /** Phase 2, outside any transaction: the call; throws to have the command retried. */
  call(call: C, message: Message<T>, log: Logger): Promise<R>;
  /**
   * Phase 3, in a short transaction with the command's key just claimed: records the outcome and
   * says what to reply, `"again"` to decide the command once more from phase 1 (the call
   * settled what an earlier attempt left open, e.g. a charge, and the command is not answered),
   * or `Awaiting` when the outcome is not final yet.
   */
  complete(
    tx: TransactionSql,
    message: Message<T>,
    outcome: { call: C; result: R },
    log: Logger,
  ): Promise<Reply | "again" | Awaiting>;
}

/** How a participant handles commands of type `T`: in one transaction, or around an external call. */
export type ParticipantCommand<T extends EventType = EventType> =
  | ChunkCommand<unknown, unknown, T>
  | CallingCommand<unknown, unknown, T>;

/** A participant's commands by type, each handler given messages of its own type only. */
export type CommandHandlers = { [T in EventType]?: ParticipantCommand<T> };

/** Options of `createCommandConsumer`. */
export interface CommandConsumerOptions {
  sql: Sql;
  /** The service's schema: its outbox and idempotency keys live there. */
  schema: string;
  log: Logger;
  /** Command types this participant handles; anything else is malformed on its topic. */
  commands: CommandHandlers;
  /** Called after each reply is written (metrics). */
  onReply?: (command: EventType, reply: EventType) => void;
  /** The service's relay, handed the replies once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
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
  /** Set while its key is claimed by the transaction at work; `resumed`: it awaited before. */
  claim?: { resumed: boolean };
}

/** A call decided in phase 1, and after phase 2 what it came to. */
interface Call {
  entry: Entry;
  command: CallingCommand<unknown, unknown>;
  call: unknown;
}
type Settled = Call & ({ ok: true; result: unknown } | { ok: false; error: unknown });

/** What one transaction answered; `repeated`: from the record of a command handled before. */
interface Answered {
  entry: Entry;
  reply: Reply;
  repeated?: boolean;
}

/** What one transaction came to, for the log and the relay once it is committed. */
interface Round {
  answered: Answered[];
  skipped: Entry[];
  awaiting: { entry: Entry; why: string }[];
}

/** A participant's command handler, and the way back for commands that awaited an outcome. */
export interface CommandConsumer extends BatchHandler {
  /**
   * Decides again, as if delivered once more, the commands of these orders that await an
   * outcome (`Awaiting`), in the order they came: called once the outcome is final.
   */
  resumeAwaiting(orderIds: readonly string[]): Promise<void>;
}

/**
 * Builds the batch handler of a participant's command consumer: a chunk of commands in one
 * transaction, each applied in order, their replies written to the outbox together; commands
 * with an external call around it, in atomic phases (see the module doc). A command handled
 * before (the same eventId and body) is answered again with the reply recorded with its key,
 * and nothing is applied again; one that awaits an outcome is not answered until it is final.
 */
export function createCommandConsumer(options: CommandConsumerOptions): CommandConsumer {
  const { sql, schema } = options;
  const limit = createLimit(options.callConcurrency ?? DEFAULT_CALL_CONCURRENCY);
  const chunkCommand = chunkCommandOf(options.commands);

  /**
   * Writes the round's replies to the outbox, records those not repeated with their keys, and
   * keeps the keys of the commands that await; returns what to hand the relay once committed.
   */
  async function writeRound(tx: TransactionSql, round: Round) {
    const [outbox] = await Promise.all([
      writeOutbox(
        tx,
        schema,
        round.answered.map(({ entry, reply }) => {
          const { sagaId, eventId } = entry.message.metadata;
          return encodeMessage({ ...reply, sagaId, causationId: eventId });
        }),
        { notify: options.relay === undefined },
      ),
      recordReplies(
        tx,
        schema,
        round.answered.flatMap(({ entry, reply, repeated }) =>
          repeated ? [] : [{ eventId: entry.message.metadata.eventId, reply }]
        ),
      ),
      awaitReplies(tx, schema, round.awaiting.map(({ entry }) => entry.message)),
    ]);
    return outbox;
  }

  function committed(outbox: Awaited<ReturnType<typeof writeRound>>, round: Round): void {
    options.relay?.publishCommitted(outbox);
    for (const { log } of round.skipped) log.info("Duplicate command skipped");
    for (const { entry: { log }, why } of round.awaiting) {
      log.info("Command awaits an outcome: answered once it is final", { awaiting: why });
    }
    for (const { entry: { message, log }, reply, repeated } of round.answered) {
      if (repeated) {
        log.info("Repeated command answered from its record", replyFields(reply));
        continue;
      }
      options.onReply?.(message.eventType, reply.eventType);
      log.info("Command handled", replyFields(reply));
    }
  }

  /**
   * What to do with a command whose key was handled before: answer it again from the record, or
   * from this transaction's answer to its first copy in the chunk; leave it for the next round
   * while that first copy is still being decided; skip it while it awaits an outcome.
   */
  function repeat(
    entry: Entry,
    claim: Extract<CommandClaim, { kind: "duplicate" }>,
    answeredNow: ReadonlyMap<string, Reply>,
    undecided: ReadonlySet<string>,
  ): "skip" | "later" | Reply {
    const { eventId } = entry.message.metadata;
    if (!claim.inChunk) return claim.reply ?? "skip";
    return answeredNow.get(eventId) ?? (undecided.has(eventId) ? "later" : "skip");
  }

  /**
   * Phase 1 (and the whole of a `ChunkCommand`): one transaction for the round's commands. A
   * command of an order whose call is pending waits for the next round; its key, and the key of
   * a command that makes a call, are claimed only once it is answered. The orders of a round of
   * `CallingCommand`s are decided at once (their statements pipelined on the transaction), each
   * order's commands in turn; a chunk's `ChunkCommand`s are decided in memory in chunk order
   * (they may touch what other orders share: stock), from what `load` read with the claims.
   */
  async function decide(entries: readonly Entry[], first: boolean) {
    const { outbox, round, calls, later } = await withTransaction(sql, async (tx) => {
      const messages = entries.map((entry) => entry.message);
      // Independent: sent together (pipelined), one round trip. A redelivered command passes the
      // saga check again: it passed it the first time.
      const [claims, , loaded] = await Promise.all([
        claimCommands(tx, schema, messages),
        first ? checkOrderSagas(tx, schema, messages) : undefined,
        chunkCommand?.load(tx, messages),
      ]);
      const round: Round = { answered: [], skipped: [], awaiting: [] };
      const calls: Call[] = [];
      const later: Entry[] = [];
      const answeredNow = new Map<string, Reply>();
      const undecided = new Set<string>();
      const repeated: { entry: Entry; claim: Extract<CommandClaim, { kind: "duplicate" }> }[] = [];
      const fresh: Entry[] = [];
      for (const [index, entry] of entries.entries()) {
        const claim = claims[index]!;
        if (claim.kind === "duplicate") repeated.push({ entry, claim });
        else {
          entry.claim = { resumed: claim.resumed };
          fresh.push(entry);
        }
      }

      /** Decides an order's calling commands in turn; once one makes a call, the rest wait. */
      async function decideInTurn(turn: readonly Entry[]): Promise<void> {
        let calling = false;
        for (const entry of turn) {
          const { message, handle, log } = entry;
          const { eventId } = message.metadata;
          if (calling) {
            later.push(entry);
            undecided.add(eventId);
            continue;
          }
          const command = handle as CallingCommand<unknown, unknown>;
          const prepared = await command.prepare(tx, message, log);
          if ("reply" in prepared) {
            round.answered.push({ entry, reply: prepared.reply });
            answeredNow.set(eventId, prepared.reply);
          } else if ("awaiting" in prepared) {
            round.awaiting.push({ entry, why: prepared.awaiting });
          } else {
            calls.push({ entry, command, call: prepared.call });
            calling = true;
            undecided.add(eventId);
          }
        }
      }

      /** Decides the chunk's commands in memory, in chunk order; their writes, set-based. */
      function decideChunk(command: ChunkCommand<unknown, unknown>): unknown[] {
        let state = loaded;
        const writes: unknown[] = [];
        for (const entry of fresh) {
          const decided = command.decide(state, entry.message, entry.log);
          state = decided.state;
          writes.push(...decided.writes);
          round.answered.push({ entry, reply: decided.reply });
          answeredNow.set(entry.message.metadata.eventId, decided.reply);
        }
        return writes;
      }

      const writes = chunkCommand === undefined ? [] : decideChunk(chunkCommand);
      if (chunkCommand === undefined) await allDone(byOrder(fresh).map(decideInTurn));
      // A copy in the chunk is decided once its first copy is.
      for (const { entry, claim } of repeated) {
        const next = repeat(entry, claim, answeredNow, undecided);
        if (next === "skip") round.skipped.push(entry);
        else if (next === "later") later.push(entry);
        else round.answered.push({ entry, reply: next, repeated: true });
      }
      inChunkOrder(round.answered, calls, round.awaiting);
      await release(tx, [...calls.map((call) => call.entry), ...later]);
      // Independent tables: the changes and the replies go in one round trip.
      const [outbox] = await Promise.all([
        writeRound(tx, round),
        writes.length === 0 ? undefined : chunkCommand?.write(tx, writes),
      ]);
      return { outbox, round, calls, later };
    });
    committed(outbox, round);
    return { calls, later };
  }

  /**
   * Phase 3: one transaction claims the keys, records the outcomes and writes the replies; the
   * outcomes of different orders (one call each in a round) are recorded at once, pipelined.
   */
  async function complete(done: readonly (Call & { result: unknown })[]): Promise<Entry[]> {
    if (done.length === 0) return [];
    const { outbox, round, again } = await withTransaction(sql, async (tx) => {
      const claims = await claimCommands(tx, schema, done.map(({ entry }) => entry.message));
      const round: Round = { answered: [], skipped: [], awaiting: [] };
      const again: Entry[] = [];
      await allDone(done.map(async ({ entry, command, call, result }, index) => {
        const claim = claims[index]!;
        // Answered meanwhile by another consumer of the partition (a rebalance): the call it
        // repeated had the same key, so nothing happened twice; its reply is repeated.
        if (claim.kind === "duplicate") {
          if (claim.reply === null) round.skipped.push(entry);
          else round.answered.push({ entry, reply: claim.reply, repeated: true });
          return;
        }
        entry.claim = { resumed: claim.resumed };
        const reply = await command.complete(tx, entry.message, { call, result }, entry.log);
        if (reply === "again") {
          if (++entry.again >= MAX_AGAIN) {
            throw new Error(
              `Cannot handle ${entry.message.eventType} ${entry.message.metadata.eventId}: still undecided after ${MAX_AGAIN} external calls`,
            );
          }
          again.push(entry);
        } else if ("awaiting" in reply) {
          round.awaiting.push({ entry, why: reply.awaiting });
        } else {
          round.answered.push({ entry, reply });
        }
      }));
      inChunkOrder(round.answered, round.awaiting);
      await release(tx, again);
      return { outbox: await writeRound(tx, round), round, again };
    });
    committed(outbox, round);
    return again;
  }

  /** Gives back the keys this transaction claimed for commands it does not answer (yet). */
  async function release(tx: TransactionSql, entries: readonly Entry[]): Promise<void> {
    const claimed = entries.flatMap((entry) => {
      const { claim } = entry;
      entry.claim = undefined;
      return claim === undefined
        ? []
        : [{ eventId: entry.message.metadata.eventId, resumed: claim.resumed }];
    });
    if (claimed.length > 0) await releaseClaims(tx, schema, claimed);
  }

  function entryOf(message: Message, index: number): Entry {
    // Looked up by the message's own type: the handler is given messages of its type only.
    const handle = options.commands[message.eventType] as ParticipantCommand | undefined;
    if (handle === undefined) {
      throw new MalformedMessageError(
        `${message.eventType} is not a command the ${schema} service handles`,
      );
    }
    const { sagaId, orderId, eventId } = message.metadata;
    const log = options.log.child({ sagaId, orderId, eventType: message.eventType, eventId });
    return { index, message, handle, log, again: 0 };
  }

  async function run(entries: Entry[]): Promise<void> {
    let round = entries;
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
  }

  const handleCommands: BatchHandler = function handleCommands(records) {
    return run(records.map((record, index) => entryOf(decodeMessage(record), index)));
  };
  return Object.assign(handleCommands, {
    async resumeAwaiting(orderIds: readonly string[]): Promise<void> {
      const commands = await awaitingCommands(sql, schema, orderIds);
      if (commands.length > 0) await run(commands.map(entryOf));
    },
  });
}

/** What a reply says, for its command's log line: its type, and a failure's code and reason. */
function replyFields(reply: Reply): LogFields {
  if (EVENTS[reply.eventType].body !== FailureReply) return { reply: reply.eventType };
  const { code, reason } = reply.body as FailureReply;
  return { reply: reply.eventType, code, reason };
}

/**
 * The one `ChunkCommand` of a participant's commands, or undefined when they are all
 * `CallingCommand`s; any other mix is a programming error, refused at once.
 */
function chunkCommandOf(commands: CommandHandlers): ChunkCommand<unknown, unknown> | undefined {
  const handlers = Object.values(commands) as ParticipantCommand[];
  const chunked = new Set(handlers.filter(isChunkCommand));
  if (chunked.size === 0) return undefined;
  if (chunked.size > 1 || !handlers.every(isChunkCommand)) {
    throw new Error(
      "A participant's commands are all one ChunkCommand, or all CallingCommands",
    );
  }
  return [...chunked][0];
}

function isChunkCommand(handle: ParticipantCommand): handle is ChunkCommand<unknown, unknown> {
  return "decide" in handle;
}

/** The entries grouped by order, each order's in chunk order. */
function byOrder(entries: readonly Entry[]): Entry[][] {
  const orders = new Map<string, Entry[]>();
  for (const entry of entries) {
    const { orderId } = entry.message.metadata;
    const commands = orders.get(orderId);
    if (commands === undefined) orders.set(orderId, [entry]);
    else commands.push(entry);
  }
  return [...orders.values()];
}

/** Sorts each list by its entries' place in the chunk: replies go out in the order they came. */
function inChunkOrder(...lists: { entry: Entry }[][]): void {
  for (const list of lists) list.sort((a, b) => a.entry.index - b.entry.index);
}

/**
 * Waits for every one of `work` to settle (none left running on a transaction about to end),
 * then throws the first failure.
 */
async function allDone(work: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((settled) => settled.status === "rejected");
  if (failed !== undefined) throw failed.reason;
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
  commands: CommandHandlers;
  /** Where a new group starts (default: the beginning, so no command is missed). */
  fromBeginning?: boolean;
  /** Commands handled in one transaction at most (default `DEFAULT_COMMAND_BATCH`). */
  batchSize?: number;
  /** Partitions handled at the same time, each chunk in its own transaction (default 1). */
  concurrency?: number;
  /** External calls in flight at once, all partitions together (default 16). */
  callConcurrency?: number;
}

/** A participant consuming its commands. */
export interface Participant extends RunningConsumer {
  /** Decides again the commands of these orders that await an outcome (see `CommandConsumer`). */
  resumeAwaiting(orderIds: readonly string[]): Promise<void>;
}

/** Starts consuming a participant's commands on an open runtime; stopped when it closes. */
export async function startParticipant(
  runtime: ServiceRuntime,
  options: ParticipantOptions,
): Promise<Participant> {
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
    ...(options.callConcurrency === undefined ? {} : { callConcurrency: options.callConcurrency }),
  });
  const consumer = await startConsumer(runtime.kafka, {
    groupId: options.groupId,
    topics: [options.topic],
    producer: runtime.producer,
    log,
    handler: handleCommands,
    maxRecords: options.batchSize ?? DEFAULT_COMMAND_BATCH,
    partitionsConcurrently: options.concurrency ?? 1,
    onOutcome: (topic, outcome) => metrics.kafkaMessagesConsumed.inc({ topic, outcome }),
    fromBeginning: options.fromBeginning,
  });
  runtime.onClose(() => consumer.stop());
  return Object.assign(consumer, { resumeAwaiting: handleCommands.resumeAwaiting });
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
  commands: (runtime: ServiceRuntime) => CommandHandlers;
  /** Partitions handled at the same time (default 1). */
  concurrency?: number;
  /** External calls in flight at once, all partitions together (default 16). */
  callConcurrency?: number;
  /**
   * Starts what runs beside the consumer once it runs (e.g. payment's follower of outcomes still
   * moving); it registers its own closer with `runtime.onClose`, run before the consumer stops.
   */
  alongside?: (runtime: ServiceRuntime, participant: Participant) => void | Promise<void>;
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
    const participant = await startParticipant(runtime, {
      groupId: options.groupId,
      topic: options.topic,
      commands: options.commands(runtime),
      concurrency: options.concurrency ?? 1,
      ...(options.callConcurrency === undefined
        ? {}
        : { callConcurrency: options.callConcurrency }),
    });
    await options.alongside?.(runtime, participant);
    runtime.log.info("Service running", { groupId: options.groupId, topic: options.topic });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}
