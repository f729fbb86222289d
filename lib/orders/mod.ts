/**
 * A storefront's side of the contract: build an `ORDER_CREATED`, publish it to `orders`, and
 * wait for the saga it starts (read through lib/orchestrator_store). Used by `sagactl`, the demo
 * and the end-to-end tests.
 */
import type { Producer } from "kafkajs";
import { waitFor } from "../async/mod.ts";
import type { Sql } from "../db/mod.ts";
import { publish } from "../kafka/producer.ts";
import { encodeMessage, type OrderCreated, type OrderItem } from "../messages/mod.ts";
import { findSaga, type SagaRecord } from "../orchestrator_store/mod.ts";
import { FINAL_STATUSES } from "../saga/mod.ts";

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

/** Polls PostgreSQL until the order's saga reaches a final status; rejects at the deadline. */
export async function waitForFinalSaga(
  sql: Sql,
  orderId: string,
  options: { timeoutMs?: number } = {},
): Promise<SagaRecord> {
  return await waitFor(async () => {
    const saga = await findSaga(sql, orderId);
    return saga !== null && FINAL_STATUSES.has(saga.status) ? saga : undefined;
  }, {
    timeoutMs: options.timeoutMs ?? 30_000,
    intervalMs: 100,
    description: `the saga of order ${orderId} to finish`,
  });
}
