/**
 * The processes one pipeline of the bench runs on, each pipeline on its own fresh database and
 * Kafka namespace (like `testing/stack.ts`, but kept apart from the test helpers so the bench
 * uses the configured infrastructure and can read PostgreSQL's counters after the processes
 * exit): the saga (the Stripe test server and the four services, `serviceSpecs`) or the bare
 * pipeline (four `bare_service.ts` roles). Processes start in parallel through `startStack`.
 */
import { fileURLToPath } from "node:url";
import type { Admin, Kafka, Producer } from "kafkajs";
import { seedCatalog } from "../../lib/catalog/mod.ts";
import { COMMON_VARIABLES, loadConfig } from "../../lib/config/mod.ts";
import { closeDb, connectDb, ensureDatabase, runMigrations, type Sql } from "../../lib/db/mod.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import { connectProducer } from "../../lib/kafka/producer.ts";
import { ensureTopics } from "../../lib/kafka/topics.ts";
import type { LogLevel } from "../../lib/log/mod.ts";
import { ALL_TOPICS } from "../../lib/messages/mod.ts";
import { SCHEMAS } from "../../lib/topology/mod.ts";
import { freePorts, tcpAnswers } from "../../testing/net.ts";
import { waitFor } from "../../lib/async/mod.ts";
import {
  type ProcessSpec,
  replicaName,
  replicaPortVariable,
  SERVICES,
  serviceSpecs,
  type Stack,
  startStack,
} from "../../testing/supervisor.ts";
import { BARE_ROLES, BARE_SCHEMA_SQL } from "./bare_service.ts";
import type { PrivateCluster } from "../chaos/infra.ts";
import { type InspectedProcess, startInspected } from "./inspected.ts";
import type { PipelineKind } from "./options.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));
const BARE_ENTRY = "tools/bench/bare_service.ts";

/** Where Kafka, PostgreSQL and Redis are (the project's configuration: env, then defaults). */
export interface BenchInfra {
  kafkaBrokers: string[];
  databaseUrl: string;
  redisUrl: string;
  /** A 3-node cluster of the run's own (`--brokers 3`): topics of RF 3, min ISR 2. */
  cluster?: PrivateCluster;
}

/** Reads the infrastructure from `env` and checks that each service answers. */
export async function benchInfra(env: Record<string, string | undefined>): Promise<BenchInfra> {
  const config = loadConfig(COMMON_VARIABLES, env);
  const infra = {
    kafkaBrokers: config.KAFKA_BROKERS,
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
  };
  const checks: Array<[string, string, string]> = [
    ["Kafka", infra.kafkaBrokers[0]!, "KAFKA_BROKERS"],
    ["PostgreSQL", hostPort(infra.databaseUrl, 5432), "DATABASE_URL"],
    ["Redis", hostPort(infra.redisUrl, 6379), "REDIS_URL"],
  ];
  for (const [name, address, variable] of checks) {
    if (!await tcpAnswers(address)) {
      throw new Error(
        `Cannot run the benchmark: ${name} is not reachable at ${address} ` +
          `(start it with "deno task infra:up", or set ${variable})`,
      );
    }
  }
  return infra;
}

/** Options of `startPipelineStack`. */
export interface PipelineStackOptions {
  infra: BenchInfra;
  partitions: number;
  /** Processes of each service or bare role, all in its consumer group (default 1). */
  replicas?: number;
  logLevel: LogLevel;
  /** Median answer time of the Stripe test server in ms (default 0). */
  stripeLatencyMs?: number;
  /** Processes to start with the V8 inspector open, for profiling (names not here are ignored). */
  profile?: readonly string[];
}

/** One pipeline's processes and the clients the bench observes them with. */
export interface PipelineStack {
  kind: PipelineKind;
  namespace: string;
  /** The pipeline's own database (name and URL). */
  database: string;
  databaseUrl: string;
  logDir: string;
  kafka: Kafka;
  admin: Admin;
  /** The load generator's producer (the services' settings: idempotent, acks = all). */
  producer: Producer;
  /** A connection to the `postgres` database, to read counters without adding to them. */
  maintenance: Sql;
  /** The processes by name, with their pids. */
  processes: Array<{ name: string; pid: number }>;
  /** The processes started with the inspector open, and its port. */
  inspected: Array<{ name: string; inspectorPort: number }>;
  /** Consumer groups and the topics each reads (contract names). */
  groups: Record<string, readonly string[]>;
  /** Schemas whose outbox the pipeline relays (none for the bare pipeline). */
  outboxSchemas: string[];
  /** Redis channel on which the bare pipeline announces finished orders. */
  doneChannel: string;
  /** SIGKILL to one process by name; resolves once it is gone. */
  kill(name: string): Promise<void>;
  /** SIGTERM to every process; waits for them to exit. */
  stopProcesses(): Promise<void>;
  /** Stops what still runs, drops the database and deletes the namespace's topics. */
  teardown(): Promise<void>;
}

/** Consumer groups (the same names in both pipelines, each in its own namespace). */
export const PIPELINE_GROUPS: Record<string, readonly string[]> = Object.fromEntries(
  Object.values(BARE_ROLES).map((role) => [role.groupId, Object.keys(role.next)]),
);

/** Creates the database and topics, starts the pipeline's processes and waits until they consume. */
export async function startPipelineStack(
  kind: PipelineKind,
  options: PipelineStackOptions,
): Promise<PipelineStack> {
  const { infra } = options;
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 10);
  const database = `bench_${kind}_${suffix}`;
  const url = new URL(infra.databaseUrl);
  url.pathname = `/${database}`;
  const databaseUrl = url.href;
  const maintenanceUrl = new URL(infra.databaseUrl);
  maintenanceUrl.pathname = "/postgres";
  const maintenance = connectDb(maintenanceUrl.href, { max: 1, applicationName: "bench" });
  const namespace = `bench-${kind}-${suffix}`;
  const kafka = createKafka({ brokers: infra.kafkaBrokers, clientId: "bench", namespace });
  const logDir = await Deno.makeTempDir({ prefix: `sagas-bench-${kind}-` });
  const stacks: Stack[] = [];
  const inspected: InspectedProcess[] = [];
  let admin: Admin | null = null;
  let producer: Producer | null = null;

  async function stopProcesses() {
    await Promise.all([
      ...stacks.splice(0).reverse().map((stack) => stack.stop()),
      ...inspected.splice(0).map((process) => process.stop()),
    ]);
  }

  async function teardown() {
    await stopProcesses();
    await producer?.disconnect().catch(() => {});
    if (admin !== null) {
      const topics = (await admin.listTopics().catch(() => [] as string[]))
        .filter((topic) => topic.startsWith(inNamespace(kafka, "")));
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
      await admin.disconnect().catch(() => {});
    }
    await maintenance`drop database if exists ${maintenance(database)} with (force)`
      .catch(() => {});
    await closeDb(maintenance);
  }

  try {
    await ensureDatabase(databaseUrl);
    // Set up with a pool of its own, closed before the run: its commits are then counted
    // (flushed at disconnect) before the bench reads its baseline.
    const setup = connectDb(databaseUrl, { max: 1, applicationName: "bench-setup" });
    try {
      await runMigrations(setup, MIGRATIONS_DIR);
      if (kind === "saga") await seedCatalog(setup);
      else await setup.unsafe(BARE_SCHEMA_SQL);
    } finally {
      await closeDb(setup);
    }
    await ensureTopics(kafka, {
      topics: ALL_TOPICS,
      partitions: options.partitions,
      ...(infra.cluster === undefined ? {} : { replicationFactor: 3, minInsyncReplicas: 2 }),
    });
    admin = kafka.admin();
    await admin.connect();
    producer = await connectProducer(kafka);

    const replicas = options.replicas ?? 1;
    const roles = Object.keys(BARE_ROLES);
    const profiled = options.profile ?? [];
    // The Stripe test server's, then one per replica of each service (or bare role), then the
    // inspectors'.
    const ports = freePorts(1 + SERVICES.length * replicas + profiled.length);
    const stripePort = ports[0]!;
    const opsPort = (index: number, replica: number) =>
      ports[1 + SERVICES.length * (replica - 1) + index]!;
    const replicaPorts: Record<string, string> = {};
    for (let replica = 1; replica <= replicas; replica++) {
      SERVICES.forEach((service, i) => {
        replicaPorts[replicaPortVariable(service.portVariable, replica)] = String(
          opsPort(i, replica),
        );
      });
    }
    const doneChannel = `bench:done:${namespace}`;
    const env: Record<string, string> = {
      ...Deno.env.toObject(),
      KAFKA_BROKERS: infra.kafkaBrokers.join(","),
      KAFKA_NAMESPACE: namespace,
      KAFKA_TOPIC_PARTITIONS: String(options.partitions),
      DATABASE_URL: databaseUrl,
      REDIS_URL: infra.redisUrl,
      LOG_LEVEL: options.logLevel,
      SMTP_URL: "",
      ...replicaPorts,
      SERVICE_REPLICAS: String(replicas),
      STRIPE_TEST_SERVER_PORT: String(stripePort),
      STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      STRIPE_TEST_LATENCY: `${options.stripeLatencyMs ?? 0}ms`,
    };
    delete env.STRIPE_SECRET_KEY;
    const specs: ProcessSpec[] = kind === "saga"
      ? serviceSpecs(env, { replicas })
      : Array.from({ length: replicas }, (_, r) => r + 1).flatMap((replica) =>
        roles.map((role, i) => ({
          name: replicaName(`bare-${role}`, replica),
          entry: BARE_ENTRY,
          readyUrl: `http://127.0.0.1:${opsPort(i, replica)}/readyz`,
          env: {
            BARE_ROLE: role,
            BARE_PORT: String(opsPort(i, replica)),
            BARE_DONE_CHANNEL: doneChannel,
          },
        }))
      );
    const started = await Promise.allSettled(specs.map(async (spec) => {
      const index = profiled.indexOf(spec.name);
      if (index < 0) stacks.push(await startStack([spec], { env, logDir }));
      else {
        inspected.push(
          await startInspected(spec, {
            env,
            logDir,
            inspectorPort: ports[1 + SERVICES.length * replicas + index]!,
          }),
        );
      }
    }));
    const failed = started.find((result) => result.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    await waitForGroups(admin, kafka, Object.keys(PIPELINE_GROUPS), replicas);
    const processes = [
      ...stacks.flatMap((stack) =>
        [...stack.processes.values()].map((p) => ({ name: p.spec.name, pid: p.child.pid }))
      ),
      ...inspected.map((p) => ({ name: p.name, pid: p.pid })),
    ];
    return {
      kind,
      namespace,
      database,
      databaseUrl,
      logDir,
      kafka,
      admin,
      producer,
      maintenance,
      processes,
      inspected: inspected.map((p) => ({ name: p.name, inspectorPort: p.inspectorPort })),
      groups: PIPELINE_GROUPS,
      outboxSchemas: kind === "saga" ? [...SCHEMAS] : [],
      doneChannel,
      async kill(name) {
        const stack = stacks.find((s) => s.processes.has(name));
        if (stack === undefined) throw new RangeError(`Cannot kill "${name}": no such process`);
        await stack.kill(name, "SIGKILL");
      },
      stopProcesses,
      teardown,
    };
  } catch (error) {
    await teardown();
    throw new Error(
      `Cannot start the ${kind} pipeline (process logs in ${logDir}): ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  }
}

/**
 * Waits until every group has all its `members` and is stable: records produced now are
 * consumed, and no rebalance is due to a late replica.
 */
async function waitForGroups(
  admin: Admin,
  kafka: Kafka,
  groups: readonly string[],
  members: number,
) {
  await waitFor(async () => {
    const { groups: described } = await admin.describeGroups(
      groups.map((group) => inNamespace(kafka, group)),
    );
    return described.length === groups.length &&
      described.every((group) => group.state === "Stable" && group.members.length >= members);
  }, {
    timeoutMs: 60_000 + 15_000 * (members - 1),
    intervalMs: 250,
    description: `every consumer group to be stable with ${members} member(s)`,
  });
}

function hostPort(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || defaultPort}`;
}
