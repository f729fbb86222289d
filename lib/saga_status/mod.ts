/**
 * The saga status cache in Redis (DESIGN §1): the orchestrator writes each saga's latest status
 * and publishes every change on the order's channel; `sagactl --wait` subscribes. PostgreSQL
 * stays the truth: the cache is best effort and may be missing or behind.
 */
import type { Redis } from "ioredis";
import type { SagaStatus } from "../saga/mod.ts";

/** What the cache holds for a saga, and what each change message carries. */
export interface SagaStatusUpdate {
  sagaId: string;
  orderId: string;
  status: SagaStatus;
  /** The step being run or undone, by name. */
  step: string | null;
  /** The timeline sentence of the transition. */
  note: string;
  updatedAt: string;
}

/** How long a cached status lives. */
export const STATUS_TTL_SECONDS = 7 * 24 * 3600;

/** Key of the cached status of an order's saga. */
export function statusKey(orderId: string): string {
  return `saga:order:${orderId}`;
}

/** Channel on which an order's saga status changes are published. */
export function statusChannel(orderId: string): string {
  return `saga:updates:${orderId}`;
}

/** Caches and publishes `update` in one round trip. */
export async function publishSagaStatus(redis: Redis, update: SagaStatusUpdate): Promise<void> {
  const json = JSON.stringify(update);
  await redis.multi()
    .set(statusKey(update.orderId), json, "EX", STATUS_TTL_SECONDS)
    .publish(statusChannel(update.orderId), json)
    .exec();
}

/** The cached status of an order's saga, or null when none is cached. */
export async function readSagaStatus(
  redis: Redis,
  orderId: string,
): Promise<SagaStatusUpdate | null> {
  const json = await redis.get(statusKey(orderId));
  return json === null ? null : JSON.parse(json) as SagaStatusUpdate;
}

/**
 * Calls `onUpdate` for every status change of the order's saga until the returned function is
 * called. `subscriber` must be a connection dedicated to subscriptions.
 */
export async function subscribeSagaStatus(
  subscriber: Redis,
  orderId: string,
  onUpdate: (update: SagaStatusUpdate) => void,
): Promise<() => Promise<void>> {
  const channel = statusChannel(orderId);
  const listener = (from: string, message: string) => {
    if (from === channel) onUpdate(JSON.parse(message) as SagaStatusUpdate);
  };
  subscriber.on("message", listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off("message", listener);
    await subscriber.unsubscribe(channel);
  };
}
