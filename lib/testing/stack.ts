/**
 * The whole system as separate processes for end-to-end tests: a fresh database, the Stripe
 * test server and the four services on their own ports, real Kafka, PostgreSQL and Redis.
 */
import type { Producer } from "kafkajs";
import { seedCatalog } from "../catalog/mod.ts";
import type { Sql } from "../db/mod.ts";
import type { LedgerEntry } from "../invariants/mod.ts";
import { createKafka } from "../kafka/client.ts";
import { connectProducer } from "../kafka/producer.ts";
import { serviceSpecs, type Stack, startStack } from "../../scripts/supervisor.ts";
import { createTestDatabase } from "./db.ts";
import { testInfra } from "./infra.ts";

/** A running stack and the clients a test drives it with. */
export interface TestStack {
  stack: Stack;
  sql: Sql;
  producer: Producer;
  env: Record<string, string>;
  /** The Stripe test server's base URL. */
  stripeUrl: string;
  /** Per-order money as the Stripe test server recorded it. */
  ledger(): Promise<Record<string, LedgerEntry>>;
}

const PORTS = {
  ORCHESTRATOR_PORT: "19101",
  INVENTORY_PORT: "19102",
  PAYMENT_PORT: "19103",
  NOTIFICATION_PORT: "19104",
  STRIPE_TEST_SERVER_PORT: "19111",
};

/** Starts everything, runs `fn`, then stops the processes and drops the database. */
export async function withTestStack(
  overrides: Record<string, string>,
  fn: (stack: TestStack) => Promise<void>,
): Promise<void> {
  const infra = await testInfra();
  const db = await createTestDatabase();
  const logDir = await Deno.makeTempDir({ prefix: "sagas-e2e-" });
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    ...PORTS,
    KAFKA_BROKERS: infra.kafkaBrokers.join(","),
    DATABASE_URL: db.url,
    REDIS_URL: infra.redisUrl,
    STRIPE_API_BASE: `http://127.0.0.1:${PORTS.STRIPE_TEST_SERVER_PORT}`,
    LOG_LEVEL: "info",
    ...overrides,
  };
  delete env.STRIPE_SECRET_KEY;
  await seedCatalog(db.sql);
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: "e2e" });
  const producer = await connectProducer(kafka);
  let stack: Stack | undefined;
  try {
    stack = await startStack(serviceSpecs(env), { env, logDir });
    const stripeUrl = env.STRIPE_API_BASE!;
    await fn({
      stack,
      sql: db.sql,
      producer,
      env,
      stripeUrl,
      async ledger() {
        const response = await fetch(`${stripeUrl}/_test/ledger`);
        return (await response.json() as { orders: Record<string, LedgerEntry> }).orders;
      },
    });
  } catch (error) {
    console.error(`End-to-end test failed; service logs are in ${logDir}`);
    throw error;
  } finally {
    await stack?.stop();
    await producer.disconnect();
    await db.drop();
  }
}
