/**
 * Readiness checks for the dependencies most services share; pass them to
 * `startOpsServer({ readinessChecks })`, next to any other `() => Promise<void>` (Kafka's).
 */
import type { ReadinessCheck } from "./server.ts";

/** The part of a postgres.js pool a check uses. */
export interface PostgresLike {
  unsafe(query: string): PromiseLike<unknown>;
}

/** The part of an ioredis client a check uses. */
export interface RedisLike {
  status: string;
  ping(): Promise<string>;
}

/** A readiness check that runs `select 1` on the pool. */
export function checkPostgres(sql: PostgresLike): ReadinessCheck {
  return async function checkPostgresReady(): Promise<void> {
    await sql.unsafe("select 1");
  };
}

/** A readiness check that fails at once while the client is disconnected, else sends PING. */
export function checkRedis(redis: RedisLike): ReadinessCheck {
  return async function checkRedisReady(): Promise<void> {
    if (redis.status !== "ready") {
      throw new Error(`Cannot ping Redis: the connection is ${redis.status}`);
    }
    const reply = await redis.ping();
    if (reply !== "PONG") throw new Error(`Cannot ping Redis: it answered "${reply}"`);
  };
}
