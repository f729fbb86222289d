/**
 * The saga status cache in Redis (DESIGN §1): the orchestrator writes each saga's latest status
 * and publishes every change on the order's channel; `sagactl --wait` subscribes. PostgreSQL
 * stays the truth: the cache is best effort and may be missing or behind.
 *
 * Several orchestrator replicas publish, each on its own connection, so the updates of one saga
 * can reach Redis in another order than they committed in (a replica's event loop held up after
 * its commit while another replica commits the next transition). An update carries its
 * `version`, the saga's last history row id at its commit, and replaces the cached status only
 * if it is later: a late one neither overwrites the cache nor reaches the subscribers.
 */
import type { ChainableCommander, Redis } from "ioredis";
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
  /**
   * The saga's last history row id when the transition committed (ids grow in commit order for
   * one saga). Without it (e.g. an operator's action) the update always replaces the cache.
   */
  version?: number;
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

/**
 * Sets the status and publishes it unless it has a version and the cached one has a version at
 * least as high. KEYS: the status key; ARGV: the update's JSON, its version (empty: none), the
 * TTL, the channel (not a key).
 */
const PUBLISH_IF_LATER = `
if ARGV[2] ~= '' then
  local cached = redis.call('GET', KEYS[1])
  if cached then
    local ok, decoded = pcall(cjson.decode, cached)
    if ok and type(decoded) == 'table' and type(decoded.version) == 'number'
      and decoded.version >= tonumber(ARGV[2]) then
      return 0
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[3]))
redis.call('PUBLISH', ARGV[4], ARGV[1])
return 1`;

/** The name `PUBLISH_IF_LATER` is defined under on a client (`defineCommand`). */
const PUBLISH_IF_LATER_COMMAND = "sagaStatusPublishIfLater";

/** A pipeline of a client on which `PUBLISH_IF_LATER` is defined. */
type StatusPipeline = ChainableCommander & {
  [PUBLISH_IF_LATER_COMMAND](
    key: string,
    json: string,
    version: string,
    ttlSeconds: string,
    channel: string,
  ): ChainableCommander;
};

/**
 * Caches and publishes the updates in order, all in one round trip (a pipeline of the script,
 * sent as EVALSHA once the connection has loaded it); resolves with whether each was written:
 * false when a later version was cached already, by an earlier update of the same call too.
 * Rejects with the first failure (e.g. Redis unreachable).
 */
export async function publishSagaStatuses(
  redis: Redis,
  updates: readonly SagaStatusUpdate[],
): Promise<boolean[]> {
  if (updates.length === 0) return [];
  if (!(PUBLISH_IF_LATER_COMMAND in redis)) {
    redis.defineCommand(PUBLISH_IF_LATER_COMMAND, { numberOfKeys: 1, lua: PUBLISH_IF_LATER });
  }
  const pipeline = redis.pipeline() as StatusPipeline;
  for (const update of updates) {
    pipeline[PUBLISH_IF_LATER_COMMAND](
      statusKey(update.orderId),
      JSON.stringify(update),
      update.version === undefined ? "" : String(update.version),
      String(STATUS_TTL_SECONDS),
      statusChannel(update.orderId),
    );
  }
  const results = await pipeline.exec() ?? [];
  return results.map(([error, written]) => {
    if (error !== null) throw error;
    return written === 1;
  });
}

/**
 * Caches and publishes one update (`publishSagaStatuses`); resolves with false when a later
 * version is cached already (the update is then dropped).
 */
export async function publishSagaStatus(redis: Redis, update: SagaStatusUpdate): Promise<boolean> {
  const [written] = await publishSagaStatuses(redis, [update]);
  return written === true;
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
