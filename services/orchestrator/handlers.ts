/**
 * The orchestrator's batch handler: a definition's start event (`ORDER_CREATED`) starts a saga
 * of that type, a reply moves one by the definition its type names. A chunk of records is
 * handled in one transaction: idempotency keys claimed, new orders and sagas inserted, the
 * replies' sagas locked, every event decided in memory in record order (several events of one
 * saga in sequence), then states, history and outbox written set-based.
 */
import { type Sql, type TransactionSql, withTransaction } from "../../lib/db/mod.ts";
import { MalformedMessageError } from "../../lib/errors/mod.ts";
import { claimMessages } from "../../lib/idempotency/mod.ts";
import type { BatchHandler } from "../../lib/kafka/consumer.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { decodeMessage, type EventType, type Message } from "../../lib/messages/mod.ts";
import type { OutboxRelay, OutboxRow } from "../../lib/outbox/mod.ts";
import {
  decideSagaEvent,
  ORCHESTRATOR_SCHEMA,
  persistWithVersions,
  type SagaDecision,
} from "../../lib/order_saga/mod.ts";
import {
  insertOrderItems,
  insertOrders,
  insertSagas,
  lockSagas,
  type StoredSaga,
} from "../../lib/orchestrator_store/mod.ts";
import { newSagaState, type SagaPolicy, type SagaRegistry } from "../../lib/saga/mod.ts";
import type { OnApplied } from "./observers.ts";

/** What the handler needs. */
export interface OrchestratorDeps {
  sql: Sql;
  log: Logger;
  policy: SagaPolicy;
  /** The saga definitions it runs, by saga type. */
  sagas: SagaRegistry<EventType>;
  /**
   * Called after each transaction committed, with what it decided and the sagas' status versions
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
    deps.onApplied(decisions, versions);
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
  const isStart = (message: Message) => deps.sagas.startedBy(message.eventType) !== undefined;
  const [started, sagas] = await Promise.all([
    startSagas(tx, fresh.filter(isStart), deps.sagas),
    lockSagas(tx, [...new Set(fresh.filter((m) => !isStart(m)).flatMap(replySagaId))]),
  ]);
  const decisions: SagaDecision[] = [];
  for (const message of fresh) {
    const decision = isStart(message)
      ? decideStart(message, started, deps)
      : decideReply(message, sagas, deps);
    if (decision === null) continue;
    const { state } = decision.transition;
    const saga = sagas.get(state.sagaId) ?? started.get(message.metadata.eventId);
    if (saga !== undefined) {
      sagas.set(state.sagaId, { ...saga, state, data: decision.transition.data });
    }
    decisions.push(decision);
  }
  // The writes and the status versions: one round trip.
  const written = await persistWithVersions(tx, decisions, { notify: deps.relay === undefined });
  return { decisions, ...written };
}

/**
 * Starts a saga for each start message, of the type its definition names, keyed and given its
 * data by the definition; by the eventId of the message that started it. A key that has a saga
 * already (a duplicate) starts nothing. The orders of `ORDER_CREATED` messages are inserted
 * first: the orchestrator keeps them (DESIGN §6), and every saga row names its order.
 */
async function startSagas(
  tx: TransactionSql,
  messages: readonly Message[],
  registry: SagaRegistry<EventType>,
): Promise<Map<string, StoredSaga>> {
  const firstByKey = new Map<string, { message: Message; saga: StoredSaga }>();
  for (const message of messages) {
    const definition = registry.startedBy(message.eventType);
    if (definition === undefined) continue;
    const key = definition.start.key(message.body);
    if (firstByKey.has(key)) continue;
    const state = newSagaState(crypto.randomUUID(), key);
    const data = definition.start.data(message.body);
    firstByKey.set(key, { message, saga: { type: definition.name, state, data } });
  }
  const orders = [...firstByKey.values()].flatMap(({ message }) =>
    isOrderCreated(message) ? [message.body] : []
  );
  const newOrders = await insertOrders(tx, orders);
  const [inserted] = await Promise.all([
    insertSagas(tx, [...firstByKey.values()].map(({ saga }) => saga)),
    insertOrderItems(tx, orders.filter((order) => newOrders.has(order.orderId))),
  ]);
  const started = new Map<string, StoredSaga>();
  for (const { message, saga } of firstByKey.values()) {
    if (inserted.has(saga.state.sagaId)) started.set(message.metadata.eventId, saga);
  }
  return started;
}

function decideStart(
  message: Message,
  started: ReadonlyMap<string, StoredSaga>,
  deps: OrchestratorDeps,
): SagaDecision | null {
  const { eventId } = message.metadata;
  const log = deps.log.child({ orderId: message.metadata.orderId });
  const saga = started.get(eventId);
  if (saga === undefined) {
    log.warn("Order exists already: no second saga started", { eventId });
    return null;
  }
  const decision = decideSagaEvent(saga, {
    event: { type: "START" },
    origin: { eventType: message.eventType, eventId, actor: "orchestrator" },
    policy: deps.policy,
    sagas: deps.sagas,
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
  if (saga === undefined || saga.state.key !== orderId) {
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
      body: message.body,
    },
    origin: { eventType: message.eventType, eventId, actor: "orchestrator" },
    policy: deps.policy,
    sagas: deps.sagas,
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
  return sagaId === undefined ? [] : [sagaId];
}
