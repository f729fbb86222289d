/**
 * How a participant service handles a command (DESIGN §5): in one PostgreSQL transaction it
 * claims the command's idempotency key, checks that the command comes from the order's saga,
 * applies the business change, and writes the reply to its outbox. A redelivered command is
 * skipped; the reply answers the command by `causationId`.
 */
import { type Sql, type TransactionSql, withTransaction } from "../db/mod.ts";
import { MalformedMessageError } from "../errors/mod.ts";
import { claimMessage } from "../idempotency/mod.ts";
import { type RecordHandler, type RunningConsumer, startConsumer } from "../kafka/consumer.ts";
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
import { writeOutbox } from "../outbox/mod.ts";

/** A reply: its type and body; ids, saga and causation are filled in by the runtime. */
export type Reply = Pick<OutgoingMessage, "eventType" | "body">;

/** Applies one command inside the transaction and says what to reply. */
export type CommandHandler = (tx: TransactionSql, message: Message, log: Logger) => Promise<Reply>;

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
}

/** Builds the record handler of a participant's command consumer. */
export function createCommandConsumer(options: CommandConsumerOptions): RecordHandler {
  const { sql, schema } = options;
  return async function handleCommand(record) {
    const message = decodeMessage(record);
    const handle = options.commands[message.eventType];
    if (handle === undefined) {
      throw new MalformedMessageError(
        `${message.eventType} is not a command the ${schema} service handles`,
      );
    }
    const { sagaId, orderId, eventId } = message.metadata;
    const log = options.log.child({ sagaId, orderId, eventType: message.eventType, eventId });
    const reply = await withTransaction(sql, async (tx) => {
      if (await claimMessage(tx, schema, message) === "duplicate") return null;
      await checkOrderSaga(tx, schema, message);
      const reply = await handle(tx, message, log);
      await writeOutbox(tx, schema, [encodeMessage({ ...reply, sagaId, causationId: eventId })]);
      return reply;
    });
    if (reply === null) {
      log.info("Duplicate command skipped");
      return;
    }
    options.onReply?.(message.eventType, reply.eventType);
    log.info("Command handled", { reply: reply.eventType });
  };
}

/**
 * Records the saga of the command's order the first time the order is seen; a command that
 * names another saga for an order already bound (a saga that does not exist: every order has
 * exactly one) is malformed. Without this, a stray `REFUND_PAYMENT` or `RELEASE_INVENTORY` under
 * a made-up saga id would undo a completed order's charge or reservation.
 */
export async function checkOrderSaga(
  tx: TransactionSql,
  schema: string,
  message: Message,
): Promise<void> {
  const { orderId, sagaId, eventType } = message.metadata;
  if (sagaId === undefined) return;
  const table = tx(`${schema}.order_sagas`);
  await tx`insert into ${table} (order_id, saga_id) values (${orderId}, ${sagaId})
    on conflict (order_id) do nothing`;
  const [bound] = await tx<{ saga_id: string }[]>`
    select saga_id from ${table} where order_id = ${orderId}`;
  if (bound !== undefined && bound.saga_id !== sagaId) {
    throw new MalformedMessageError(
      `${eventType} names saga "${sagaId}", which does not exist: order "${orderId}" belongs to saga "${bound.saga_id}"`,
    );
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
  const consumer = await startConsumer(runtime.kafka, {
    groupId: options.groupId,
    topics: [options.topic],
    producer: runtime.producer,
    log,
    handler: createCommandConsumer({
      sql: runtime.sql,
      schema: runtime.schema,
      log,
      commands: options.commands,
      onReply: (command, reply) => repliesSent.inc({ command, reply }),
    }),
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
    });
    runtime.log.info("Service running", { groupId: options.groupId, topic: options.topic });
    const signal = await onShutdownSignal();
    runtime.log.info("Shutting down", { signal });
  } finally {
    await runtime.close();
  }
}
