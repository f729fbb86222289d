/**
 * The whole system as separate processes for end-to-end tests: a fresh database, a Kafka
 * namespace of its own, the Stripe test server and the four services on free ports, against
 * real Kafka, PostgreSQL and Redis. Stacks never see each other, nor a running `deno task dev`.
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
import { deleteNamespaceTopics, testNamespace } from "./kafka.ts";

/** A running stack and the clients a test drives it with. */
export interface TestStack {
  stack: Stack;
  sql: Sql;
  producer: Producer;
  env: Record<string, string>;
  /** Where each process writes its log (`<name>.log`). */
  logDir: string;
  /** The Stripe test server's base URL. */
  stripeUrl: string;
  /** Per-order money as the Stripe test server recorded it. */
  ledger(): Promise<Record<string, LedgerEntry>>;
}

const PORT_VARIABLES = [
  "ORCHESTRATOR_PORT",
  "INVENTORY_PORT",
  "PAYMENT_PORT",
  "NOTIFICATION_PORT",
  "STRIPE_TEST_SERVER_PORT",
] as const;

/** A free local port for each process of the stack, so stacks never collide. */
function freePorts(): Record<string, string> {
  const listeners = PORT_VARIABLES.map(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = Object.fromEntries(
    PORT_VARIABLES.map((name, i) => [name, String((listeners[i]!.addr as Deno.NetAddr).port)]),
  );
  for (const listener of listeners) listener.close();
  return ports;
}

/**
 * Starts everything, runs `fn`, then stops the processes and drops the database. `overrides`
 * reach every process, the Stripe test server too: e.g. `STRIPE_TEST_LATENCY: "700ms"` (its
 * median answer time) or `STRIPE_TEST_ASYNC_DELAY: "1s"` (the wait of asynchronous outcomes).
 */
export async function withTestStack(
  overrides: Record<string, string>,
  fn: (stack: TestStack) => Promise<void>,
): Promise<void> {
  const infra = await testInfra();
  const db = await createTestDatabase();
  const logDir = await Deno.makeTempDir({ prefix: "sagas-e2e-" });
  const namespace = testNamespace("e2e");
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    ...freePorts(),
    KAFKA_BROKERS: infra.kafkaBrokers.join(","),
    KAFKA_NAMESPACE: namespace,
    KAFKA_TOPIC_PARTITIONS: "3",
    DATABASE_URL: db.url,
    REDIS_URL: infra.redisUrl,
    STRIPE_API_BASE: "",
    LOG_LEVEL: "info",
    ...overrides,
  };
  delete env.STRIPE_SECRET_KEY;
  env.STRIPE_API_BASE = `http://127.0.0.1:${env.STRIPE_TEST_SERVER_PORT}`;
  await seedCatalog(db.sql);
  // The broker the services use: an override (e.g. a broker of the test's own) wins.
  const brokers = env.KAFKA_BROKERS!.split(",").map((broker) => broker.trim());
  const kafka = createKafka({ brokers, clientId: "e2e", namespace });
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
      logDir,
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
    await deleteNamespaceTopics(kafka);
  }
}
