/**
 * A storefront's side of the contract: build an `ORDER_CREATED`, publish it to `orders`, and
 * follow the saga it starts. Used by `sagactl`, the demo and the end-to-end tests.
 */
import type { Producer } from "kafkajs";
import { waitFor } from "../async/mod.ts";
import type { Sql } from "../db/mod.ts";
import { publish } from "../kafka/producer.ts";
import { encodeMessage, type OrderCreated, type OrderItem } from "../messages/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../saga/mod.ts";

/** What an order needs besides ids. */
export interface OrderRequest {
  items: OrderItem[];
  customerEmail: string;
  paymentMethod: string;
  currency?: string;
  customerId?: string;
  orderId?: string;
}

/** A complete `ORDER_CREATED` body with fresh ids where none were given. */
export function newOrder(request: OrderRequest): OrderCreated {
  return {
    orderId: request.orderId ?? crypto.randomUUID(),
    customerId: request.customerId ?? crypto.randomUUID(),
    customerEmail: request.customerEmail,
    currency: request.currency ?? "usd",
    paymentMethod: request.paymentMethod,
    items: request.items,
  };
}

/** Publishes the order to `orders` (acks from all replicas) and returns the record's eventId. */
export async function placeOrder(producer: Producer, order: OrderCreated): Promise<string> {
  const record = encodeMessage({ eventType: "ORDER_CREATED", body: order });
  await publish(producer, [record]);
  return JSON.parse(record.headers.metadata!).eventId;
}

/** The saga of an order as stored by the orchestrator. */
export interface SagaSummary {
  sagaId: string;
  orderId: string;
  status: SagaStatus;
  orderStatus: string;
  retryCount: number;
  nextRetryAt: Date | null;
  failureCode: string | null;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The saga of `orderId`, or null before the orchestrator has stored it. */
export async function findSagaByOrder(sql: Sql, orderId: string): Promise<SagaSummary | null> {
  const [row] = await sql<SagaSummary[]>`
    select s.saga_id as "sagaId", s.order_id as "orderId", s.status, o.status as "orderStatus",
      s.retry_count as "retryCount", s.next_retry_at as "nextRetryAt",
      s.failure_code as "failureCode", s.failure_reason as "failureReason",
      s.created_at as "createdAt", s.updated_at as "updatedAt"
    from orchestrator.sagas s join orchestrator.orders o using (order_id)
    where s.order_id = ${orderId}`;
  return row ?? null;
}

/** Polls PostgreSQL until the order's saga reaches a final status; rejects at the deadline. */
export async function waitForFinalSaga(
  sql: Sql,
  orderId: string,
  options: { timeoutMs?: number } = {},
): Promise<SagaSummary> {
  return await waitFor(async () => {
    const saga = await findSagaByOrder(sql, orderId);
    return saga !== null && FINAL_STATUSES.has(saga.status) ? saga : undefined;
  }, {
    timeoutMs: options.timeoutMs ?? 30_000,
    intervalMs: 100,
    description: `the saga of order ${orderId} to finish`,
  });
}
