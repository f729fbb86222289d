/**
 * A chaos run: the whole system as processes (`withTestStack`), orders arriving open-loop while
 * seeded faults are injected, then a wait until everything settled, and the checks: the
 * invariants of DESIGN §5 (testing/invariants, dead letters included) plus what only the run knows
 * (each poison dead-lettered, late replies recorded and ignored, no impossible outcome, sagas
 * flowing while Redis was down).
 */
import type { Admin, Kafka, Producer } from "kafkajs";
import kafkajs from "kafkajs";
import { sleep } from "../../lib/async/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { checkInvariants, type InvariantReport } from "../../testing/invariants/mod.ts";
import { errorMessage as describe } from "../../lib/errors/mod.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { DLQ_HEADERS } from "../../lib/kafka/dlq.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import { connectProducer } from "../../lib/kafka/producer.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { GROUP_TOPICS, ORCHESTRATOR, SCHEMAS } from "../../lib/topology/mod.ts";
import { testInfra } from "../../testing/infra.ts";
import { freePort } from "../../testing/net.ts";
import { readTopicToEnd } from "../../testing/kafka.ts";
import { type TestStack, withTestStack } from "../../testing/stack.ts";
import { replicaName, serviceOf, serviceSpecs } from "../../testing/supervisor.ts";
import { type FaultContext, type FaultOutcome, injectFault } from "./faults.ts";
import {
  postgresFault,
  type PostgresFaultMode,
  type PrivateBroker,
  type PrivateCluster,
  type PrivateRedis,
  startPrivateBroker,
  startPrivateCluster,
  startPrivateRedis,
  startRedisProxy,
} from "./infra.ts";
import {
  type PlacedOrder,
  placeOrder,
  planOrders,
  planProbe,
  runOrderGenerator,
} from "./orders.ts";
import {
  type BrokerCount,
  EXCLUSIVE_FAULTS,
  type FaultKind,
  faultKindsFor,
  planFaults,
  type PlannedFault,
} from "./plan.ts";
import { INJECTION_HEADER } from "./poison.ts";
import { createPrng } from "../../testing/prng.ts";

/** Options of {@linkcode runChaos}. */
export interface ChaosOptions {
  orders: number;
  ratePerSecond: number;
  seed: number;
  faults: readonly FaultKind[];
  /** SIGKILLs per service (default 3 from 1,000 orders up, else 1). */
  killsPerService?: number;
  /** Injections of each other fault kind (default 2 from 1,000 orders up, else 1). */
  rounds?: number;
  /** The orchestrator's STEP_TIMEOUT (default 6 s: short, so that replies do come late). */
  stepTimeoutMs?: number;
  /** Give up waiting for the system to settle after this long (default 180 s). */
  settleTimeoutMs?: number;
  /** How PostgreSQL is broken (default: a restart when a local cluster serves it). */
  postgresMode?: PostgresFaultMode;
  /** Median answer time of the Stripe test server in ms (`STRIPE_TEST_LATENCY`; default 0). */
  stripeLatencyMs?: number;
  /**
   * Processes of each service, all in its consumer group (default 1): a kill then stops one
   * replica of a service while the others carry on.
   */
  replicas?: number;
  /**
   * 3: the run starts a 3-node cluster of its own (topics with 3 replicas, `min.insync.replicas`
   * 2) and the cluster faults take one node away at a time; 1 (default): the shared broker, or
   * a broker of the run's own when the `broker` fault stops it.
   */
  brokers?: BrokerCount;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** A poison record and where it ended up. */
export interface PoisonOutcome {
  name: string;
  topic: string;
  /** The dead letter's `dlq-error`, or null when none was found. */
  reason: string | null;
}

/** Everything a run found. */
export interface ChaosReport {
  seed: number;
  ordersPlanned: number;
  ordersPlaced: number;
  ratePerSecond: number;
  /** Processes of each service (the `replica` fault adds a second orchestrator to one). */
  replicas: number;
  /** Brokers of the run's Kafka (3: a cluster of its own). */
  brokers: BrokerCount;
  stepTimeoutMs: number;
  /** Median answer time of the Stripe test server in ms (0: at once). */
  stripeLatencyMs: number;
  faults: FaultOutcome[];
  /** Saga status → count. */
  outcomes: Partial<Record<SagaStatus, number>>;
  /** Scenario name → saga status → count. */
  outcomesByScenario: Record<string, Partial<Record<SagaStatus, number>>>;
  /** Scenario name → the status its orders must reach and how many were placed. */
  scenarioOrders: Record<string, { expected: SagaStatus; orders: number }>;
  poison: PoisonOutcome[];
  lateReplies: { injected: number; ignored: number };
  deadLetters: InvariantReport["deadLetters"];
  violations: string[];
  /** From the end of the last fault to a settled system (null when it never settled). */
  settleMs: number | null;
  /** From the first order to the end of the last fault. */
  chaosMs: number;
  wallMs: number;
  logDir: string;
  postgresMode: PostgresFaultMode | null;
}

/** Runs the whole thing and reports; throws only when the stack cannot even start. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const large = options.orders >= 1_000;
  const stepTimeoutMs = options.stepTimeoutMs ?? 6_000;
  const replicas = options.replicas ?? 1;
  const brokers = options.brokers ?? 1;
  const kinds = faultKindsFor(options.faults, brokers);
  const rng = createPrng(options.seed);
  const plan = planOrders(rng.fork("orders"), {
    count: options.orders,
    ratePerSecond: options.ratePerSecond,
  });
  const lastOrderMs = plan.at(-1)?.atMs ?? 0;
  const faultPlan = planFaults(rng.fork("faults"), {
    kinds,
    startMs: Math.min(10_000, lastOrderMs * 0.1),
    endMs: lastOrderMs,
    killsPerService: options.killsPerService ?? (large ? 3 : 1),
    rounds: options.rounds ?? (large ? 2 : 1),
    stepTimeoutMs,
    replicas,
    brokers,
  });
  const wants = (kind: FaultKind) => kinds.includes(kind);
  log(
    `seed ${options.seed}: ${plan.length} orders over ${(lastOrderMs / 1000).toFixed(0)} s, ` +
      `${faultPlan.length} faults, ${replicas} replica(s) of every service, ${brokers} broker(s)`,
  );

  let broker: PrivateBroker | null = null;
  let cluster: PrivateCluster | null = null;
  let redis: PrivateRedis | null = null;
  try {
    if (brokers === 3) {
      cluster = await startPrivateCluster();
      log(`a 3-node cluster of the run's own on ${cluster.brokers.join(",")}`);
    } else if (wants("broker")) {
      broker = await startPrivateBroker();
      log(`a broker of the run's own on ${broker.brokers.join(",")} (stopped by the broker fault)`);
    }
    if (wants("redis")) {
      redis = await startPrivateRedis().catch(async (error) => {
        log(`${describe(error)}: Redis outages are made by a proxy the run cuts instead`);
        return await startRedisProxy((await testInfra(["redis"])).redisUrl);
      });
      log(`the run's Redis: ${redis.url} (stopped by the redis fault)`);
    }
    let report: ChaosReport | undefined;
    await withTestStack({
      STEP_TIMEOUT: `${stepTimeoutMs}ms`,
      // An unanswered command is sent again until its horizon: long enough to outlast every
      // fault of the run (a killed service, the broker down), short enough to end within the
      // settle wait if a participant really never answers.
      STEP_GIVE_UP: "2m",
      COMPENSATION_GIVE_UP: "3m",
      COMPENSATION_RETRY_INITIAL: "200ms",
      COMPENSATION_RETRY_MAX: "2s",
      // Failure replies only (an unanswered compensation is sent again and uses none): a refund
      // that keeps failing still needs an operator.
      MAX_COMPENSATION_RETRIES: "8",
      SWEEP_INTERVAL: "200ms",
      STRIPE_TEST_LATENCY: `${options.stripeLatencyMs ?? 0}ms`,
      ...(broker === null ? {} : { KAFKA_BROKERS: broker.brokers.join(",") }),
      ...(cluster === null ? {} : { KAFKA_BROKERS: cluster.brokers.join(",") }),
      ...(redis === null ? {} : { REDIS_URL: redis.url }),
    }, async (t) => {
      log(
        `stack up: database ${new URL(t.env.DATABASE_URL!).pathname.slice(1)}, ` +
          `namespace ${t.env.KAFKA_NAMESPACE}, logs in ${t.logDir}`,
      );
      // With one of each, the replica fault needs a second orchestrator to stop one of.
      if (wants("replica") && replicas === 1) await addReplica(t);
      report = await chaosOnStack(t, {
        options,
        stepTimeoutMs,
        plan,
        faultPlan,
        kinds,
        broker,
        cluster,
        redis,
        log,
        started,
      });
    }, { replicas });
    return report!;
  } finally {
    await redis?.dispose().catch(() => {});
    await broker?.dispose().catch(() => {});
    await cluster?.dispose().catch(() => {});
  }
}

async function addReplica(t: TestStack): Promise<void> {
  const orchestrator = serviceSpecs(t.env).find((spec) => spec.name === ORCHESTRATOR.name)!;
  const port = freePort();
  await t.stack.add({
    ...orchestrator,
    name: replicaName(ORCHESTRATOR.name, 2),
    env: { ORCHESTRATOR_PORT: String(port) },
    readyUrl: `http://127.0.0.1:${port}/readyz`,
  });
}

interface StackRun {
  options: ChaosOptions;
  stepTimeoutMs: number;
  plan: ReturnType<typeof planOrders>;
  faultPlan: PlannedFault[];
  /** The fault kinds that apply to the run's brokers. */
  kinds: readonly FaultKind[];
  broker: PrivateBroker | null;
  cluster: PrivateCluster | null;
  redis: PrivateRedis | null;
  log: (line: string) => void;
  started: number;
}

async function chaosOnStack(t: TestStack, run: StackRun): Promise<ChaosReport> {
  const kafka = createKafka({
    brokers: t.env.KAFKA_BROKERS!.split(","),
    clientId: "chaos",
    namespace: t.env.KAFKA_NAMESPACE,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  // The storefront and the record faults use a producer of their own, quiet while Kafka is away.
  const producer = await connectProducer(kafka);
  try {
    return await chaosWithProducer(t, run, kafka, producer);
  } finally {
    await producer.disconnect();
  }
}

async function chaosWithProducer(
  t: TestStack,
  run: StackRun,
  kafka: Kafka,
  producer: Producer,
): Promise<ChaosReport> {
  const { options, log } = run;
  const postgres = run.kinds.includes("postgres")
    ? await postgresFault(t.env.DATABASE_URL!, { mode: options.postgresMode })
    : null;
  const placed: PlacedOrder[] = [];
  const probeRng = createPrng(options.seed).fork("probes");
  const stopping = new AbortController();
  const t0 = performance.now();
  const since = () => `+${((performance.now() - t0) / 1000).toFixed(1)}s`;
  const context: FaultContext = {
    stack: t.stack,
    stripeUrl: t.stripeUrl,
    broker: run.broker,
    cluster: run.cluster,
    redis: run.redis,
    postgres,
    kafka,
    producer,
    sql: t.sql,
    rng: createPrng(options.seed).fork("injections"),
    placed: () => placed,
    async placeProbe() {
      const probe = planProbe(probeRng, placed.length);
      const order = await placeOrder(producer, probe, stopping.signal);
      placed.push(order);
      return order;
    },
  };

  const generator = runOrderGenerator(producer, run.plan, {
    signal: stopping.signal,
    onPlaced: (order) => {
      placed.push(order);
      if (placed.length % 500 === 0) log(`${since()} ${placed.length} orders placed`);
    },
  });
  const outcomes: FaultOutcome[] = [];
  // Exclusive faults run one after another; kills of one service never overlap, and neither
  // do a kill and a replica fault of it: one replica of a service is down at a time.
  const chains = new Map<string, Promise<void>>();
  const chainOf = (fault: PlannedFault) =>
    EXCLUSIVE_FAULTS.has(fault.kind)
      ? "exclusive"
      : fault.kind === "kill"
      ? `kill:${fault.service}`
      : `${fault.kind}:${fault.atMs}`;
  const held = new Map<string, Promise<void>>();
  const holding = async <T>(service: string | null, fn: () => Promise<T>): Promise<T> => {
    if (service === null) return await fn();
    const previous = held.get(service) ?? Promise.resolve();
    const done = previous.then(fn);
    held.set(service, done.then(() => {}, () => {}));
    return await done;
  };
  const serviceHit = (fault: PlannedFault) =>
    fault.kind === "kill"
      ? fault.service
      : fault.kind === "replica"
      ? serviceOf(fault.victim)
      : null;
  const faultsDone = Promise.all(run.faultPlan.map(async (fault) => {
    await sleep(Math.max(0, fault.atMs - (performance.now() - t0)));
    const chain = chainOf(fault);
    const previous = chains.get(chain) ?? Promise.resolve();
    const done = previous.then(async () => {
      log(`${since()} ${fault.kind}…`);
      const outcome = await holding(serviceHit(fault), () => injectFault(context, fault));
      outcomes.push(outcome);
      log(
        `${since()} ${fault.kind}: ${outcome.error ? `FAILED: ${outcome.error}` : outcome.detail}`,
      );
    });
    chains.set(chain, done);
    await done;
  }));
  await Promise.all([generator, faultsDone]);
  const chaosEnded = performance.now();
  log(
    `${since()} all ${placed.length} orders placed and ${outcomes.length} faults done; settling…`,
  );

  const settled = await waitUntilSettled(t.sql, kafka, {
    orders: placed.length,
    timeoutMs: options.settleTimeoutMs ?? 180_000,
  });
  const settleMs = settled ? Math.round(performance.now() - chaosEnded) : null;
  log(settled ? `settled ${(settleMs! / 1000).toFixed(1)} s after the last fault` : "NOT settled");

  const report = await checkRun(t, kafka, { placed, outcomes, settled });
  return {
    ...report,
    seed: options.seed,
    ordersPlanned: run.plan.length,
    ordersPlaced: placed.length,
    ratePerSecond: options.ratePerSecond,
    replicas: options.replicas ?? 1,
    brokers: options.brokers ?? 1,
    stepTimeoutMs: run.stepTimeoutMs,
    stripeLatencyMs: options.stripeLatencyMs ?? 0,
    faults: outcomes.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime()),
    settleMs,
    chaosMs: Math.round(chaosEnded - t0),
    wallMs: Math.round(performance.now() - run.started),
    logDir: t.logDir,
    postgresMode: postgres?.mode ?? null,
  };
}

/** Consumer lag of every service group, summed (records not yet handled). */
async function totalLag(admin: Admin, kafka: Kafka): Promise<number> {
  let lag = 0;
  for (const [group, topics] of Object.entries(GROUP_TOPICS)) {
    const committed = await admin.fetchOffsets({
      groupId: inNamespace(kafka, group),
      topics: topics.map((topic) => inNamespace(kafka, topic)),
    });
    for (const { topic, partitions } of committed) {
      const ends = await admin.fetchTopicOffsets(topic);
      for (const end of ends) {
        const at = partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
        const from = at === "-1" ? BigInt(end.low) : BigInt(at);
        lag += Number(BigInt(end.high) - from);
      }
    }
  }
  return lag;
}

/** Outbox rows of every service still to publish (set-aside rows are not). */
async function unpublishedOutbox(sql: Sql): Promise<number> {
  let unpublished = 0;
  for (const schema of SCHEMAS) {
    const [row] = await sql<{ n: number }[]>`
      select count(*)::int as n from ${sql(`${schema}.outbox`)}
      where published_at is null and set_aside_at is null`;
    unpublished += row?.n ?? 0;
  }
  return unpublished;
}

/**
 * Waits until every placed order has a final saga, every outbox is drained and every group has
 * handled every record, twice in a row a second apart.
 */
async function waitUntilSettled(
  sql: Sql,
  kafka: Kafka,
  options: { orders: number; timeoutMs: number },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const admin = kafka.admin();
  let streak = 0;
  try {
    await admin.connect();
    while (Date.now() < deadline) {
      try {
        const [row] = await sql<{ sagas: number; open: number }[]>`
          select (select count(*)::int from orchestrator.sagas) as sagas,
            (select count(*)::int from orchestrator.sagas
              where status not in ${sql([...FINAL_STATUSES])}) as open`;
        const quiet = row !== undefined && row.sagas >= options.orders && row.open === 0 &&
          await unpublishedOutbox(sql) === 0 && await totalLag(admin, kafka) === 0;
        streak = quiet ? streak + 1 : 0;
        if (streak >= 2) return true;
      } catch {
        streak = 0;
      }
      await sleep(1_000);
    }
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

type RunChecks = Pick<
  ChaosReport,
  | "outcomes"
  | "outcomesByScenario"
  | "scenarioOrders"
  | "poison"
  | "lateReplies"
  | "deadLetters"
  | "violations"
>;

async function checkRun(
  t: TestStack,
  kafka: Kafka,
  run: { placed: PlacedOrder[]; outcomes: FaultOutcome[]; settled: boolean },
): Promise<RunChecks> {
  const violations: string[] = [];
  if (!run.settled) violations.push("The system did not settle before the deadline");
  for (const outcome of run.outcomes) {
    if (outcome.error !== undefined) {
      violations.push(`Fault ${outcome.fault.kind} could not be carried out: ${outcome.error}`);
    }
  }
  const poisonRecords = run.outcomes.flatMap((outcome) => outcome.poison ?? []);
  const dlq = await readTopicToEnd(kafka, TOPICS.ordersDlq, { timeoutMs: 60_000 });
  const invariants = await checkInvariants(t.sql, await t.ledger(), {
    deadLetters: {
      records: dlq,
      injectedKeys: new Set(poisonRecords.filter((p) => !p.deadLettersItself).map((p) => p.dlqKey)),
      injectedHeader: INJECTION_HEADER,
    },
  });
  violations.push(...invariants.violations);

  const poison = poisonRecords.map((record): PoisonOutcome => {
    const letter = dlq.find((letter) =>
      record.deadLettersItself
        ? letter.headers[INJECTION_HEADER] === record.headers[INJECTION_HEADER]
        : letter.key === record.dlqKey
    );
    const reason = letter?.headers[DLQ_HEADERS.error] ?? null;
    if (reason === null) {
      violations.push(`Poison "${record.name}" on ${record.topic} did not reach orders.dlq`);
    }
    return { name: record.name, topic: record.topic, reason };
  });

  const sagas = await t.sql<{ order_id: string; status: SagaStatus }[]>`
    select order_id, status from orchestrator.sagas`;
  const statusOf = new Map(sagas.map((saga) => [saga.order_id, saga.status]));
  const outcomes: ChaosReport["outcomes"] = {};
  const outcomesByScenario: ChaosReport["outcomesByScenario"] = {};
  const scenarioOrders: ChaosReport["scenarioOrders"] = {};
  for (const { planned } of run.placed) {
    const placedOf = scenarioOrders[planned.scenario.name] ??= {
      expected: planned.scenario.expected,
      orders: 0,
    };
    placedOf.orders += 1;
    const status = statusOf.get(planned.order.orderId);
    if (status === undefined) {
      violations.push(`Order ${planned.order.orderId} (${planned.scenario.name}) has no saga`);
      continue;
    }
    outcomes[status] = (outcomes[status] ?? 0) + 1;
    const byStatus = outcomesByScenario[planned.scenario.name] ??= {};
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status === "COMPLETED" && planned.scenario.expected !== "COMPLETED") {
      violations.push(
        `Order ${planned.order.orderId} (${planned.scenario.name}) COMPLETED, which it never may`,
      );
    }
  }

  const lateIds = run.outcomes.flatMap((outcome) => outcome.lateEventIds ?? []);
  let ignored = 0;
  if (lateIds.length > 0) {
    const rows = await t.sql<{ event_id: string; outcome: string }[]>`
      select event_id, outcome from orchestrator.saga_history where event_id in ${t.sql(lateIds)}`;
    const applied = rows.filter((row) => row.outcome !== "ignored");
    ignored = rows.length - applied.length;
    for (const row of applied) {
      violations.push(`A late or reordered reply (event ${row.event_id}) was applied`);
    }
    const recorded = new Set(rows.map((row) => row.event_id));
    const missing = lateIds.filter((id) => !recorded.has(id));
    if (missing.length > 0) {
      violations.push(
        `${missing.length} late or reordered replies were not recorded in a timeline`,
      );
    }
  }

  return {
    outcomes,
    outcomesByScenario,
    scenarioOrders,
    poison,
    lateReplies: { injected: lateIds.length, ignored },
    deadLetters: invariants.deadLetters,
    violations,
  };
}
