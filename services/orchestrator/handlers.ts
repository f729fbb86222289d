/**
 * The orchestrator's record handler: `ORDER_CREATED` starts a saga, a reply moves one. Each
 * record is handled in one transaction (idempotency key, saga state, history, outbox).
 */
import { type Sql, type TransactionSql, withTransaction } from "../../lib/db/mod.ts";
import { MalformedMessageError } from "../../lib/errors/mod.ts";
import { claimMessage } from "../../lib/idempotency/mod.ts";
import type { RecordHandler } from "../../lib/kafka/consumer.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { decodeMessage, type Message } from "../../lib/messages/mod.ts";
import {
  type AppliedEvent,
  applySagaEvent,
  insertOrder,
  insertSaga,
  lockSaga,
  ORCHESTRATOR_SCHEMA,
  ORDER_SAGA,
} from "../../lib/order_saga/mod.ts";
import { newSagaState, type SagaPolicy } from "../../lib/saga/mod.ts";

/** What the handler needs. */
export interface OrchestratorDeps {
  sql: Sql;
  log: Logger;
  policy: SagaPolicy;
  /** Called after the transaction committed, with what it applied (status cache, metrics). */
  onApplied: (applied: AppliedEvent) => void;
}

/** Builds the handler for records of `orders` and the three reply topics. */
export function createOrchestratorHandler(deps: OrchestratorDeps): RecordHandler {
  return async function handleOrchestratorRecord(record) {
    const message = decodeMessage(record);
    const applied = await withTransaction(deps.sql, async (tx) => {
      if (await claimMessage(tx, ORCHESTRATOR_SCHEMA, message) === "duplicate") return null;
      return message.eventType === "ORDER_CREATED"
        ? await startSaga(tx, message, deps)
        : await onReply(tx, message, deps);
    });
    if (applied !== null) deps.onApplied(applied);
  };
}

async function startSaga(
  tx: TransactionSql,
  message: Message<"ORDER_CREATED">,
  deps: OrchestratorDeps,
): Promise<AppliedEvent | null> {
  const order = message.body;
  const log = deps.log.child({ orderId: order.orderId });
  if (!await insertOrder(tx, order)) {
    log.warn("Order exists already: no second saga started", { eventId: message.metadata.eventId });
    return null;
  }
  const state = newSagaState(crypto.randomUUID(), order.orderId);
  await insertSaga(tx, state, ORDER_SAGA.name);
  const applied = await applySagaEvent(tx, { state, order }, {
    event: { type: "START" },
    origin: {
      eventType: message.eventType,
      eventId: message.metadata.eventId,
      actor: "orchestrator",
    },
    policy: deps.policy,
  });
  log.info("Saga started", { sagaId: state.sagaId, note: applied.transition.note });
  return applied;
}

async function onReply(
  tx: TransactionSql,
  message: Message,
  deps: OrchestratorDeps,
): Promise<AppliedEvent> {
  const { sagaId, orderId, eventId, causationId } = message.metadata;
  const saga = sagaId === undefined ? null : await lockSaga(tx, sagaId);
  if (saga === null || saga.state.orderId !== orderId) {
    throw new MalformedMessageError(
      `${message.eventType} names saga "${sagaId}" of order "${orderId}", which does not exist`,
    );
  }
  const applied = await applySagaEvent(tx, saga, {
    event: {
      type: "REPLY",
      eventType: message.eventType,
      eventId,
      ...(causationId === undefined ? {} : { causationId }),
      body: message.body as { reason?: string; code?: string },
    },
    origin: { eventType: message.eventType, eventId, actor: "orchestrator" },
    policy: deps.policy,
  });
  const { transition } = applied;
  deps.log.info(transition.outcome === "applied" ? "Saga advanced" : "Reply ignored", {
    sagaId,
    orderId,
    eventType: message.eventType,
    status: transition.state.status,
    note: transition.note,
  });
  return applied;
}
