/**
 * The orchestrator's batch handler: `ORDER_CREATED` starts a saga, a reply moves one. A chunk
 * of records is handled in one transaction: idempotency keys claimed, new orders and sagas
 * inserted, the replies' sagas locked, every event decided in memory in record order (several
 * events of one saga in sequence), then states, history and outbox written set-based.
 */
import { type Sql, type TransactionSql, withTransaction } from "../../lib/db/mod.ts";
import { MalformedMessageError } from "../../lib/errors/mod.ts";
import { claimMessages } from "../../lib/idempotency/mod.ts";
import type { BatchHandler } from "../../lib/kafka/consumer.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { decodeMessage, type Message } from "../../lib/messages/mod.ts";
import type { OutboxRelay, OutboxRow } from "../../lib/outbox/mod.ts";
import {
  decideSagaEvent,
  insertOrderItems,
  insertOrders,
  insertSagas,
  lockSagas,
  ORCHESTRATOR_SCHEMA,
  ORDER_SAGA,
  persistDecisions,
  type SagaDecision,
  type StoredSaga,
} from "../../lib/order_saga/mod.ts";
import { newSagaState, type SagaPolicy } from "../../lib/saga/mod.ts";
import { type OnApplied, statusVersions } from "./observers.ts";

/** What the handler needs. */
export interface OrchestratorDeps {
  sql: Sql;
  log: Logger;
  policy: SagaPolicy;
  /**
   * Called after the transaction committed, with what it applied and the saga's status version
   * (status cache, metrics).
   */
  onApplied: OnApplied;
  /** The service's relay, handed the commands once committed; without it, a NOTIFY wakes it. */
  relay?: Pick<OutboxRelay, "publishCommitted">;
}

/** Builds the handler for chunks of records of `orders` and the three reply topics. */
export function createOrchestratorHandler(deps: OrchestratorDeps): BatchHandler {
  return async function handleOrchestratorRecords(records) {
    const messages = records.map(decodeMessage);
    const { decisions, outbox, versions } = await withTransaction(
      deps.sql,
      (tx) => handleMessages(tx, messages, deps),
    );
    deps.relay?.publishCommitted(outbox);
    for (const decision of decisions) {
      deps.onApplied(decision, versions.get(decision.transition.state.sagaId));
    }
  };
}

async function handleMessages(
  tx: TransactionSql,
  messages: readonly Message[],
  deps: OrchestratorDeps,
): Promise<{ decisions: SagaDecision[]; outbox: OutboxRow[]; versions: Map<string, number> }> {
  const claims = await claimMessages(tx, ORCHESTRATOR_SCHEMA, messages);
  const fresh = messages.filter((_, index) => claims[index] === "new");
  // Independent: sent together (pipelined), so both cost one round trip.
  const [started, sagas] = await Promise.all([
    startSagas(tx, fresh.filter(isOrderCreated)),
    lockSagas(tx, [...new Set(fresh.flatMap(replySagaId))]),
  ]);
  const decisions: SagaDecision[] = [];
  for (const message of fresh) {
    const decision = isOrderCreated(message)
      ? decideStart(message, started, deps)
      : decideReply(message, sagas, deps);
    if (decision === null) continue;
    const { state } = decision.transition;
    const saga = sagas.get(state.sagaId) ?? started.get(message.metadata.eventId);
    if (saga !== undefined) sagas.set(state.sagaId, { ...saga, state });
    decisions.push(decision);
  }
  const outbox = await persistDecisions(tx, decisions, { notify: deps.relay === undefined });
  return { decisions, outbox, versions: await statusVersions(tx, decisions) };
}

/**
 * Inserts the orders of `ORDER_CREATED` messages and a saga for each; by the eventId of the
 * message that started it. An order that exists already (a duplicate) starts nothing.
 */
async function startSagas(
  tx: TransactionSql,
  messages: readonly Message<"ORDER_CREATED">[],
): Promise<Map<string, StoredSaga>> {
  const firstByOrder = new Map<string, Message<"ORDER_CREATED">>();
  for (const message of messages) {
    if (!firstByOrder.has(message.body.orderId)) firstByOrder.set(message.body.orderId, message);
  }
  const inserted = await insertOrders(tx, [...firstByOrder.values()].map((m) => m.body));
  const started = new Map<string, StoredSaga>();
  for (const [orderId, message] of firstByOrder) {
    if (!inserted.has(orderId)) continue;
    started.set(message.metadata.eventId, {
      state: newSagaState(crypto.randomUUID(), orderId),
      order: message.body,
    });
  }
  const sagas = [...started.values()];
  await Promise.all([
    insertOrderItems(tx, sagas.map((saga) => saga.order)),
    insertSagas(tx, sagas.map((saga) => saga.state), ORDER_SAGA.name),
  ]);
  return started;
}

function decideStart(
  message: Message<"ORDER_CREATED">,
  started: ReadonlyMap<string, StoredSaga>,
  deps: OrchestratorDeps,
): SagaDecision | null {
  const { eventId } = message.metadata;
  const log = deps.log.child({ orderId: message.body.orderId });
  const saga = started.get(eventId);
  if (saga === undefined) {
    log.warn("Order exists already: no second saga started", { eventId });
    return null;
  }
  const decision = decideSagaEvent(saga, {
    event: { type: "START" },
    origin: { eventType: message.eventType, eventId, actor: "orchestrator" },
    policy: deps.policy,
  });
  log.info("Saga started", { sagaId: saga.state.sagaId, note: decision.transition.note });
  return decision;
}

function decideReply(
  message: Message,
  sagas: ReadonlyMap<string, StoredSaga>,
  deps: OrchestratorDeps,
): SagaDecision {
  const { sagaId, orderId, eventId, causationId } = message.metadata;
  const saga = sagaId === undefined ? undefined : sagas.get(sagaId);
  if (saga === undefined || saga.state.orderId !== orderId) {
    throw new MalformedMessageError(
      `${message.eventType} names saga "${sagaId}" of order "${orderId}", which does not exist`,
    );
  }
  const decision = decideSagaEvent(saga, {
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
  const { transition } = decision;
  deps.log.info(transition.outcome === "applied" ? "Saga advanced" : "Reply ignored", {
    sagaId,
    orderId,
    eventType: message.eventType,
    status: transition.state.status,
    note: transition.note,
  });
  return decision;
}

function isOrderCreated(message: Message): message is Message<"ORDER_CREATED"> {
  return message.eventType === "ORDER_CREATED";
}

function replySagaId(message: Message): string[] {
  const { sagaId } = message.metadata;
  return isOrderCreated(message) || sagaId === undefined ? [] : [sagaId];
}
