/**
 * How a participant service handles a command (DESIGN §5): in one PostgreSQL transaction it
 * claims the command's idempotency key, checks that the command comes from the order's saga,
 * applies the business change, and writes the reply to its outbox. A redelivered command is
 * skipped; the reply answers the command by `causationId`. Commands fetched together are handled
 * in one such transaction, in order (a failing chunk is retried one command at a time).
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

/** A reply: its type and body; ids, saga and causation are filled in by the runtime. */
export type Reply = Pick<OutgoingMessage, "eventType" | "body">;

/** Applies one command inside the transaction and says what to reply. */
export type CommandHandler = (tx: TransactionSql, message: Message, log: Logger) => Promise<Reply>;

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
  commands: Partial<Record<EventType, CommandHandler>>;
  /** Called after each reply is written (metrics). */
  onReply?: (command: EventType, reply: EventType) => void;
  /** The service's relay, handed the replies once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
  /** Locks taken for the whole chunk before any command is applied. */
  lockFirst?: ChunkLocker;
}

/** Commands handled in one transaction at most, unless a participant says otherwise. */
const DEFAULT_COMMAND_BATCH = 50;

/**
 * Builds the batch handler of a participant's command consumer: a chunk of commands in one
 * transaction, each applied in order, their replies written to the outbox together.
 */
export function createCommandConsumer(options: CommandConsumerOptions): BatchHandler {
  const { sql, schema } = options;
  return async function handleCommands(records) {
    const commands = records.map((record) => {
      const message = decodeMessage(record);
      const handle = options.commands[message.eventType];
      if (handle === undefined) {
        throw new MalformedMessageError(
          `${message.eventType} is not a command the ${schema} service handles`,
        );
      }
      const { sagaId, orderId, eventId } = message.metadata;
      const log = options.log.child({ sagaId, orderId, eventType: message.eventType, eventId });
      return { message, handle, log };
    });
    const { replies: outcomes, outbox } = await withTransaction(sql, async (tx) => {
      const messages = commands.map((c) => c.message);
      // Independent: sent together (pipelined), one round trip. A redelivered command passes the
      // saga check again: it passed it the first time.
      const [claims] = await Promise.all([
        claimMessages(tx, schema, messages),
        checkOrderSagas(tx, schema, messages),
        options.lockFirst?.(tx, messages),
      ]);
      const isNew = (index: number) => claims[index] === "new";
      const replies: Array<Reply | null> = [];
      for (const [index, { message, handle, log }] of commands.entries()) {
        replies.push(isNew(index) ? await handle(tx, message, log) : null);
      }
      const outbox = await writeOutbox(
        tx,
        schema,
        commands.flatMap(({ message }, index) => {
          const reply = replies[index];
          const { sagaId, eventId } = message.metadata;
          return reply ? [encodeMessage({ ...reply, sagaId, causationId: eventId })] : [];
        }),
        { notify: options.relay === undefined },
      );
      return { replies, outbox };
    });
    options.relay?.publishCommitted(outbox);
    commands.forEach(({ message, log }, index) => {
      const reply = outcomes[index];
      if (reply === null || reply === undefined) {
        log.info("Duplicate command skipped");
        return;
      }
      options.onReply?.(message.eventType, reply.eventType);
      log.info("Command handled", { reply: reply.eventType });
    });
  };
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
    });
    runtime.log.info("Service running", { groupId: options.groupId, topic: options.topic });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}
