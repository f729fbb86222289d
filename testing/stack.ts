/**
 * The whole system as separate processes for end-to-end tests: a fresh database, a Kafka
 * namespace of its own, the Stripe test server and the four services on free ports, against
 * real Kafka, PostgreSQL and Redis. Stacks never see each other, nor a running `deno task dev`.
 */
import type { Producer } from "kafkajs";
import { seedCatalog } from "../lib/catalog/mod.ts";
import type { Sql } from "../lib/db/mod.ts";
import type { LedgerEntry } from "./invariants/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { connectProducer } from "../lib/kafka/producer.ts";
import {
  type ProcessSpec,
  replicaPortVariable,
  replicasOf,
  SERVICES,
  serviceSpecs,
  type Stack,
  startStack,
} from "./supervisor.ts";
import { createTestDatabase } from "./db.ts";
import { testInfra } from "./infra.ts";
import { deleteNamespaceTopics, testNamespace } from "./kafka.ts";
import { freePorts } from "./net.ts";

/** A running stack and the clients a test drives it with. */
export interface TestStack {
  stack: Stack;
  sql: Sql;
  producer: Producer;
  env: Record<string, string>;
  /** Processes of each service (`payment`, `payment#2`, …). */
  replicas: number;
  /** The processes started, by name, with their ready URLs (the ops server's `/readyz`). */
  specs: ProcessSpec[];
  /** Where each process writes its log (`<name>.log`; `payment-2.log` for `payment#2`). */
  logDir: string;
  /** The Stripe test server's base URL. */
  stripeUrl: string;
  /** Per-order money as the Stripe test server recorded it. */
  ledger(): Promise<Record<string, LedgerEntry>>;
}

/** A free local port for each variable, so stacks never collide. */
function freePortsFor(variables: readonly string[]): Record<string, string> {
  const ports = freePorts(variables.length);
  return Object.fromEntries(variables.map((name, i) => [name, String(ports[i])]));
}

/** The port variables of every process: each replica's ops port and the Stripe test server's. */
function portVariables(replicas: number): string[] {
  const variables = ["STRIPE_TEST_SERVER_PORT"];
  for (let replica = 1; replica <= replicas; replica++) {
    for (const service of SERVICES) {
      variables.push(replicaPortVariable(service.portVariable, replica));
    }
  }
  return variables;
}

/** Options of `withTestStack`. */
export interface TestStackOptions {
  /** Processes of each service, all in its consumer group (default `SERVICE_REPLICAS`, else 1). */
  replicas?: number;
}

/**
 * Starts everything, runs `fn`, then stops the processes and drops the database. `overrides`
 * reach every process, the Stripe test server too: e.g. `STRIPE_TEST_LATENCY: "700ms"` (its
 * median answer time) or `STRIPE_TEST_ASYNC_DELAY: "1s"` (the wait of asynchronous outcomes).
 */
export async function withTestStack(
  overrides: Record<string, string>,
  fn: (stack: TestStack) => Promise<void>,
  options: TestStackOptions = {},
): Promise<void> {
  const replicas = replicasOf({ ...Deno.env.toObject(), ...overrides }, options.replicas);
  const infra = await testInfra();
  const db = await createTestDatabase();
  const logDir = await Deno.makeTempDir({ prefix: "sagas-e2e-" });
  const namespace = testNamespace("e2e");
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    ...freePortsFor(portVariables(replicas)),
    KAFKA_BROKERS: infra.kafkaBrokers.join(","),
    KAFKA_NAMESPACE: namespace,
    KAFKA_TOPIC_PARTITIONS: "3",
    DATABASE_URL: db.url,
    REDIS_URL: infra.redisUrl,
    STRIPE_API_BASE: "",
    LOG_LEVEL: "info",
    ...overrides,
    SERVICE_REPLICAS: String(replicas),
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
    const specs = serviceSpecs(env);
    // One process of each service first, then the other replicas all at once: their start
    // (migrations, topics) is then a no-op, and a stack of many replicas comes up in time.
    const first = specs.filter((spec) => !spec.name.includes("#"));
    stack = await startStack(first, { env, logDir });
    const started = stack;
    const added = await Promise.allSettled(
      specs.filter((spec) => spec.name.includes("#")).map((spec) => started.add(spec)),
    );
    const failed = added.find((result) => result.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const stripeUrl = env.STRIPE_API_BASE!;
    await fn({
      stack,
      sql: db.sql,
      producer,
      env,
      replicas,
      specs,
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
