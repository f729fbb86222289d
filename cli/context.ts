/**
 * What a sagactl command runs with: its I/O, the configuration (the services' own variables,
 * from the environment and `.env`), and connections opened on first use with short timeouts,
 * so an unreachable Kafka, PostgreSQL or Redis is one clear line within seconds.
 */
import kafkajs from "kafkajs";
import type { Admin, Kafka, Producer } from "kafkajs";
import { COMMON_VARIABLES, duration, loadConfig, withDotEnv } from "../lib/config/mod.ts";
import { closeDb, connectDb, type Sql } from "../lib/db/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { connectProducer } from "../lib/kafka/producer.ts";
import { SAGA_POLICY_VARIABLES, sagaPolicyFrom } from "../lib/order_saga/mod.ts";
import { closeRedis, connectRedis, type Redis } from "../lib/redis/mod.ts";
import type { SagaPolicy } from "../lib/saga/mod.ts";
import { connectionProblem } from "./errors.ts";
import type { Io } from "./output.ts";

/** The variables sagactl reads: the common ones, the saga policy, and its connect timeout. */
export const SAGACTL_VARIABLES = {
  ...COMMON_VARIABLES,
  ...SAGA_POLICY_VARIABLES,
  /** How long sagactl waits for Kafka, PostgreSQL or Redis to answer before giving up. */
  SAGACTL_CONNECT_TIMEOUT: duration("3s"),
};

/** sagactl's loaded configuration. */
export type SagactlConfig = ReturnType<typeof loadSagactlConfig>;

/** Loads sagactl's configuration; throws `ConfigError` naming the first bad variable. */
export function loadSagactlConfig(env: Record<string, string | undefined>) {
  return loadConfig(SAGACTL_VARIABLES, env);
}

/** A command's environment: I/O, configuration and lazily opened connections. */
export interface CliContext {
  io: Io;
  /** Set by a command that ends with a code other than 0 without an error. */
  exitCode: number;
  config(): SagactlConfig;
  policy(): SagaPolicy;
  /** `operator:<$USER>`: who an operator action is recorded as. */
  actor(): string;
  now(): Date;
  /** The PostgreSQL pool, checked with a first query. */
  db(): Promise<Sql>;
  /** A Kafka admin client, connected. */
  kafkaAdmin(): Promise<Admin>;
  /** The Kafka client, bound to `KAFKA_NAMESPACE` (see lib/kafka/namespace.ts). */
  kafka(): Kafka;
  /** An idempotent producer, connected. */
  producer(): Promise<Producer>;
  /** A Redis connection for one purpose, or null when Redis does not answer in time. */
  redis(purpose: string): Promise<Redis | null>;
  /** Closes whatever was opened, newest first. */
  close(): Promise<void>;
}

/** Creates the context; nothing connects until a command asks. */
export function createContext(io: Io, options: { dotEnvPath?: string } = {}): CliContext {
  let config: SagactlConfig | undefined;
  let sql: Promise<Sql> | undefined;
  let kafka: Kafka | undefined;
  let admin: Promise<Admin> | undefined;
  let producer: Promise<Producer> | undefined;
  const closers: Array<() => Promise<void>> = [];

  function loadedConfig(): SagactlConfig {
    config ??= loadSagactlConfig(withDotEnv(io.env, options.dotEnvPath));
    return config;
  }

  function timeoutMs(): number {
    return loadedConfig().SAGACTL_CONNECT_TIMEOUT;
  }

  function kafkaClient(): Kafka {
    kafka ??= createKafka({
      brokers: loadedConfig().KAFKA_BROKERS,
      clientId: "sagactl",
      namespace: loadedConfig().KAFKA_NAMESPACE,
      logLevel: kafkajs.logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
    });
    return kafka;
  }

  function kafkaWhere(): string {
    return `Kafka at ${loadedConfig().KAFKA_BROKERS.join(",")} (KAFKA_BROKERS)`;
  }

  async function openDb(): Promise<Sql> {
    const url = loadedConfig().DATABASE_URL;
    const pool = connectDb(url, {
      max: 4,
      applicationName: "sagactl",
      connectTimeoutSeconds: Math.max(1, Math.ceil(timeoutMs() / 1_000)),
      idleTimeoutSeconds: 0,
    });
    closers.push(() => closeDb(pool, { timeoutSeconds: 1 }));
    try {
      // connect_timeout alone does not bound a host that never answers (seen under Deno).
      await withTimeout(Promise.resolve(pool`select 1`), timeoutMs());
    } catch (error) {
      throw new Error(
        `Cannot reach PostgreSQL at ${describeDatabase(url)} (DATABASE_URL): ${
          connectionProblem(error, timeoutMs())
        }`,
        { cause: error },
      );
    }
    return pool;
  }

  async function openAdmin(): Promise<Admin> {
    const client = kafkaClient().admin();
    try {
      await withTimeout(client.connect(), timeoutMs());
    } catch (error) {
      await client.disconnect().catch(() => {});
      throw new Error(`Cannot reach ${kafkaWhere()}: ${connectionProblem(error, timeoutMs())}`, {
        cause: error,
      });
    }
    closers.push(() => client.disconnect());
    return client;
  }

  async function openProducer(): Promise<Producer> {
    try {
      const connected = await withTimeout(connectProducer(kafkaClient()), timeoutMs() * 2);
      closers.push(() => connected.disconnect());
      return connected;
    } catch (error) {
      throw new Error(`Cannot reach ${kafkaWhere()}: ${connectionProblem(error, timeoutMs())}`, {
        cause: error,
      });
    }
  }

  async function openRedis(purpose: string): Promise<Redis | null> {
    const redis = connectRedis(loadedConfig().REDIS_URL, {
      connectionName: `sagactl-${purpose}`,
      connectTimeoutMs: timeoutMs(),
      maxRetriesPerRequest: 0,
      onError: () => {},
    });
    closers.push(() => closeRedis(redis));
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs());
      redis.once("ready", () => {
        clearTimeout(timer);
        resolve(true);
      });
      redis.once("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ready) {
      await closeRedis(redis);
      return null;
    }
    return redis;
  }

  return {
    io,
    exitCode: 0,
    config: loadedConfig,
    policy: () => sagaPolicyFrom(loadedConfig()),
    actor: () => `operator:${io.env.USER || io.env.LOGNAME || io.env.USERNAME || "unknown"}`,
    now: () => new Date(),
    db() {
      sql ??= openDb();
      return sql;
    },
    kafka: kafkaClient,
    kafkaAdmin() {
      admin ??= openAdmin();
      return admin;
    },
    producer() {
      producer ??= openProducer();
      return producer;
    },
    redis: openRedis,
    async close() {
      for (const close of closers.splice(0).reverse()) {
        await withTimeout(close(), 2_000).catch(() => {});
      }
    },
  };
}

/** `host:port/database` of a PostgreSQL URL, without credentials. */
export function describeDatabase(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`;
}

/** Resolves like `promise`, or rejects once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  promise.catch(() => {}); // a late rejection must not go unhandled
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
