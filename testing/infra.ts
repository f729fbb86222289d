/**
 * Where integration tests find Kafka, PostgreSQL and Redis.
 *
 * Order of preference: the environment (`KAFKA_BROKERS`, `DATABASE_URL`, `REDIS_URL`); when all
 * are unset and a Docker engine answers, containers started with `testcontainers`; otherwise the
 * local defaults, which must answer. Nothing is ever skipped: a missing service is one clear error.
 */
import process from "node:process";
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_KAFKA_BROKERS,
  DEFAULT_REDIS_URL,
} from "../lib/config/defaults.ts";
import { dockerAnswers } from "./docker.ts";
import { tcpAnswers } from "./net.ts";

/** Connection settings for the three real services the integration tests use. */
export interface TestInfra {
  kafkaBrokers: string[];
  databaseUrl: string;
  redisUrl: string;
}

/** A service an integration test depends on. */
export type TestService = "kafka" | "postgres" | "redis";

let cached: Promise<TestInfra> | undefined;
const checked = new Map<TestService, Promise<void>>();

/**
 * Resolves the test infrastructure once per process and checks that the services a test needs
 * (default: all three) answer; rejects with a line naming what is missing.
 */
export async function testInfra(
  needs: readonly TestService[] = ["kafka", "postgres", "redis"],
): Promise<TestInfra> {
  cached ??= resolveInfra();
  const infra = await cached;
  for (const service of needs) {
    if (!checked.has(service)) checked.set(service, assertServiceReachable(infra, service));
    await checked.get(service);
  }
  return infra;
}

function assertServiceReachable(infra: TestInfra, service: TestService): Promise<void> {
  switch (service) {
    case "kafka":
      return assertReachable("Kafka", infra.kafkaBrokers[0] ?? "", "KAFKA_BROKERS");
    case "postgres":
      return assertReachable("PostgreSQL", hostPort(infra.databaseUrl, 5432), "DATABASE_URL");
    case "redis":
      return assertReachable("Redis", hostPort(infra.redisUrl, 6379), "REDIS_URL");
  }
}

async function resolveInfra(): Promise<TestInfra> {
  const env = process.env;
  const fromEnv = env.KAFKA_BROKERS ?? env.DATABASE_URL ?? env.REDIS_URL;
  if (fromEnv === undefined && await dockerAnswers()) {
    const { startContainers } = await import("./containers.ts");
    try {
      return await startContainers();
    } catch (error) {
      // A socket that answers is not always a usable runtime: then the local services decide.
      if (!/container runtime/i.test(String(error))) throw error;
    }
  }
  return {
    kafkaBrokers: (env.KAFKA_BROKERS ?? DEFAULT_KAFKA_BROKERS).split(",").map((b) => b.trim()),
    databaseUrl: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    redisUrl: env.REDIS_URL ?? DEFAULT_REDIS_URL,
  };
}

function hostPort(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPort}`;
}

async function assertReachable(name: string, address: string, variable: string): Promise<void> {
  if (await tcpAnswers(address)) return;
  throw new Error(
    `Cannot run integration tests: ${name} is not reachable at ${address} ` +
      `(start it with "deno task infra:up", or set ${variable})`,
  );
}
