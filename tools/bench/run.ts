/**
 * One pipeline's measured run: start its processes, drive the load, observe each order's final
 * status through Redis, sample CPU, memory, consumer lag and outbox backlog over the measured
 * window, count Kafka records and PostgreSQL commits over the whole run, break latency down hop
 * by hop, and take everything down again.
 */
import { DEMO_CATALOG } from "../../lib/catalog/mod.ts";
import { closeDb, connectDb, type Sql } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import { publish } from "../../lib/kafka/producer.ts";
import { ALL_TOPICS, encodeMessage } from "../../lib/messages/mod.ts";
import { HAPPY_PATH_TOPICS } from "../../lib/topology/mod.ts";
import { newOrder } from "../../lib/orders/mod.ts";
import { closeRedis, connectRedis } from "../../lib/redis/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { statusChannel } from "../../lib/saga_status/mod.ts";
import { sleep } from "../../lib/async/mod.ts";
import { bareBreakdown, handledPerSecond, sagaBreakdown, type Segment } from "./breakdown.ts";
import { coalescing, createLoadGenerator, type LoadPlan, type LoadResult } from "./load.ts";
import type { BenchOptions, PipelineKind } from "./options.ts";
import {
  backendsOf,
  consumerLags,
  databaseCounters,
  outboxBacklog,
  type TableWrites,
  tableWrites,
  topicRecordCounts,
} from "./probes.ts";
import { findProcesses, loadAverage, sampleMachine, sampleProcess } from "./procfs.ts";
import {
  type ProfileSummary,
  type RunningProfile,
  startProfile,
  summarizeProfile,
} from "./profile.ts";
import { type BenchInfra, type PipelineStack, startPipelineStack } from "./stack.ts";
import { round } from "./stats.ts";
import type { PrivateCluster } from "../chaos/infra.ts";

/** CPU and memory of one process (or group of processes) over the measured window. */
export interface ProcessUsage {
  name: string;
  /** `service` (a process of the pipeline), `bench`, `infra` (shared) or `postgres` (backends). */
  kind: "service" | "bench" | "infra" | "postgres";
  cpuSeconds: number;
  /** CPU seconds per second of window: 1 = one core busy all the time. */
  cores: number;
  /** CPU milliseconds per saga of work in the window (records handled ÷ 7 hops). */
  msPerSaga: number | null;
  /** Peak resident memory (VmHWM) at the end of the run; null for groups. */
  peakRssMiB: number | null;
}

/** What one pipeline's run measured. */
export interface PipelineResult {
  pipeline: PipelineKind;
  namespace: string;
  database: string;
  loadAverage: { start: number[]; end: number[] };
  load: Omit<LoadResult, "windowOrders">;
  processes: ProcessUsage[];
  /** CPU of the whole machine over the window (all processes, ours or not). */
  machine: { cores: number; busyCores: number };
  /**
   * CPU per saga of everything the pipeline needs (its processes, its PostgreSQL backends, the
   * broker and Redis; not the bench itself), and the sagas/s that CPU allows on all the cores.
   */
  cpuPerSaga: { ms: number | null; ceilingPerSecond: number | null };
  /**
   * The denominator of the per-saga counts: the sagas finished over the whole run when every
   * order finished; else (an overloaded run) the work done in sagas, Kafka records ÷ 7 hops.
   */
  sagas: number;
  /** Every order produced finished, so `sagas` is a count, not an estimate. */
  perSagaExact: boolean;
  kafka: {
    records: number;
    recordsPerSaga: number | null;
    perTopicPerSaga: Record<string, number>;
  };
  postgres: {
    /** Commits in the pipeline's database over the whole run, the bench's own queries removed. */
    commits: number;
    commitsPerSaga: number | null;
    /** Commits per Kafka record produced: per hop, exact even when orders were unfinished. */
    commitsPerRecord: number | null;
    rollbacks: number;
    /** Rows inserted, updated and deleted per saga, by table (tables with writes only). */
    writesPerSaga: Record<string, TableWrites>;
  };
  /**
   * Per consumer group: records handled per second in the window (from the rows its handler
   * wrote) and most records waiting (lag); most unpublished outbox rows per schema.
   */
  backlog: {
    handledPerSecond: Record<string, number>;
    consumerLagMax: Record<string, number>;
    outboxMax: Record<string, number>;
  };
  breakdown: Segment[];
  /** CPU profiles taken over the window (`--profile`). */
  profiles: ProfileSummary[];
  /** Faults injected in the window (`--kill-broker-at`, `--kill-replica-at`). */
  faults: Fault[];
  logDir: string | null;
}

/** A fault the bench injected, and when (ms into the measured window). */
export interface Fault {
  kind: "broker killed" | "replicas killed";
  atMs: number;
  /** The broker's node id, or the processes killed. */
  target: string;
  /** When the broker answered again after its restart (ms into the window); null: not restarted. */
  restartedAtMs: number | null;
}

/** A killed broker is started again this long after its SIGKILL. */
const BROKER_DOWN_MS = 10_000;

/** The order every saga of the bench places: three in-stock products, a card that succeeds. */
export const BENCH_ORDER = {
  items: DEMO_CATALOG.filter((product) => product.stock > 0).map((product) => ({
    productId: product.productId,
    quantity: 1,
    unitPriceCents: product.priceCents,
  })),
  customerEmail: "bench@example.com",
  paymentMethod: "pm_card_visa",
};

const SAMPLE_INTERVAL_MS = 2_000;

/** Records handled (and produced) per saga on the happy path: one per topic it travels on. */
const HOPS_PER_SAGA = HAPPY_PATH_TOPICS.length;

/** Options of `runPipeline`. */
export interface RunPipelineOptions {
  infra: BenchInfra;
  /** Progress lines (to stderr). */
  say: (line: string) => void;
  /** Stops the load early (the processes are still taken down). */
  signal?: AbortSignal;
}

/** Runs one pipeline under the load of `options` and returns what it measured. */
export async function runPipeline(
  kind: PipelineKind,
  bench: BenchOptions,
  options: RunPipelineOptions,
): Promise<PipelineResult> {
  const stack = await startPipeline(kind, bench, options);
  let failed = true;
  try {
    const result = await measure(stack, bench, options);
    failed = false;
    return { ...result, logDir: bench.keepLogs ? stack.logDir : null };
  } finally {
    await stopPipeline(stack, { keepLogs: failed || bench.keepLogs, say: options.say });
  }
}

/** Starts one pipeline's processes for `bench` and says how long it took. */
export async function startPipeline(
  kind: PipelineKind,
  bench: BenchOptions,
  options: RunPipelineOptions,
): Promise<PipelineStack> {
  const { say } = options;
  say(`${kind}: starting the processes…`);
  const startedAt = performance.now();
  const stack = await startPipelineStack(kind, {
    infra: options.infra,
    partitions: bench.partitions,
    replicas: bench.replicas,
    logLevel: bench.logLevel,
    stripeLatencyMs: bench.stripeLatencyMs,
    profile: bench.profile,
  });
  say(
    `${kind}: ${stack.processes.length} processes ready in ${
      ((performance.now() - startedAt) / 1_000).toFixed(1)
    } s (namespace ${stack.namespace}, logs in ${stack.logDir})`,
  );
  return stack;
}

/** Takes a pipeline down: its processes, database and topics; its logs unless `keepLogs`. */
export async function stopPipeline(
  stack: PipelineStack,
  options: { keepLogs: boolean; say: (line: string) => void },
): Promise<void> {
  await stack.teardown();
  if (!options.keepLogs) await Deno.remove(stack.logDir, { recursive: true });
  else options.say(`${stack.kind}: process logs kept in ${stack.logDir}`);
}

async function measure(
  stack: PipelineStack,
  bench: BenchOptions,
  options: RunPipelineOptions,
): Promise<Omit<PipelineResult, "logDir">> {
  const { say } = options;
  const loadStart = await loadAverage();
  const { cluster } = options.infra;
  const shared = await sharedProcesses(
    cluster === undefined ? undefined : await clusterPids(cluster),
  );
  // The whole run's baseline: nothing produced yet, setup commits flushed (its pool is closed).
  const recordsBefore = await topicRecordCounts(stack.admin, stack.kafka, ALL_TOPICS);
  const writesBefore = await readTableWrites(stack.databaseUrl);
  const countersBefore = await databaseCounters(stack.maintenance, stack.database);
  const scratch = connectDb(stack.databaseUrl, { max: 1, applicationName: "bench-probe" });
  // The bench's own transactions in the pipeline's database, taken out of its commit count.
  let benchQueries = 1;
  try {
    const faults: Fault[] = [];
    let faulting = Promise.resolve();
    const step = await driveLoad(stack, planOf(bench), {
      ...options,
      scratch,
      shared,
      onQuery: () => benchQueries++,
      onWindowStart: () => {
        faulting = injectFaults(stack, bench, options, faults);
      },
    });
    await faulting;
    const { load: result, usage, backlog } = step;
    say(
      `${stack.kind}: ${result.completions.total} orders finished ` +
        `(${result.unfinished.total} unfinished); reading counters`,
    );
    const recordsAfter = await topicRecordCounts(stack.admin, stack.kafka, ALL_TOPICS);
    benchQueries += stack.kind === "saga" ? 8 : 1;
    const breakdown = stack.kind === "saga"
      ? await sagaBreakdown(scratch, result.windowOrders)
      : await bareBreakdown(scratch, result.windowOrders);
    await closeDb(scratch);
    // Counters after every process is gone: a backend flushes its statistics when it exits.
    await stack.stopProcesses();
    await sleep(1_000);
    const countersAfter = await databaseCounters(stack.maintenance, stack.database);
    const writesAfter = await readTableWrites(stack.databaseUrl);
    const loadEnd = await loadAverage();
    let records = 0;
    const recordsOf: Record<string, number> = {};
    for (const topic of ALL_TOPICS) {
      recordsOf[topic] = (recordsAfter[topic] ?? 0) - (recordsBefore[topic] ?? 0);
      records += recordsOf[topic]!;
    }
    // Per saga over the whole run: by the sagas finished when every order finished, else by
    // the work done in sagas (records produced over the hops of one saga).
    const exact = result.unfinished.total === 0;
    const sagas = exact ? result.completions.total : records / HOPS_PER_SAGA;
    const perSaga = (n: number) => sagas === 0 ? null : round(n / sagas, 2);
    const perTopic: Record<string, number> = {};
    for (const [topic, n] of Object.entries(recordsOf)) if (n > 0) perTopic[topic] = perSaga(n)!;
    const commits = countersAfter.xactCommit - countersBefore.xactCommit - benchQueries;
    const { windowOrders: _orders, ...measured } = result;
    return {
      pipeline: stack.kind,
      namespace: stack.namespace,
      database: stack.database,
      loadAverage: { start: loadStart, end: loadEnd },
      load: measured,
      processes: usage.processes,
      machine: usage.machine,
      cpuPerSaga: usage.cpuPerSaga,
      sagas: round(sagas, 1),
      perSagaExact: exact,
      kafka: { records, recordsPerSaga: perSaga(records), perTopicPerSaga: perTopic },
      postgres: {
        commits,
        commitsPerSaga: perSaga(commits),
        commitsPerRecord: records === 0 ? null : round(commits / records, 2),
        rollbacks: countersAfter.xactRollback - countersBefore.xactRollback,
        writesPerSaga: perSagaWrites(writesBefore, writesAfter, sagas),
      },
      backlog,
      breakdown,
      profiles: await step.profiles,
      faults,
    };
  } finally {
    await closeDb(scratch).catch(() => {});
  }
}

type Backlog = PipelineResult["backlog"];

/**
 * Kills what `--kill-broker-at` and `--kill-replica-at` name at their time into the window (a
 * broker that is not the active controller, restarted 10 s later; the last replica of every
 * service or bare role, left dead) and records each fault in `faults`.
 */
async function injectFaults(
  stack: PipelineStack,
  bench: BenchOptions,
  options: RunPipelineOptions,
  faults: Fault[],
): Promise<void> {
  const startedAt = performance.now();
  const at = () => Math.round(performance.now() - startedAt);
  const { cluster } = options.infra;
  const broker = async (delayMs: number) => {
    if (cluster === undefined) {
      throw new RangeError("Cannot kill a broker: no cluster of the run's own");
    }
    await sleep(delayMs, options.signal);
    const leader = await cluster.quorumLeader();
    const node = nodesOf(cluster).find((n) => n !== leader)!;
    const fault: Fault = {
      kind: "broker killed",
      atMs: at(),
      target: `node ${node}`,
      restartedAtMs: null,
    };
    await cluster.kill(node);
    faults.push(fault);
    options.say(
      `${stack.kind}: SIGKILL to broker node ${node} at ${fault.atMs} ms into the window`,
    );
    await sleep(BROKER_DOWN_MS, options.signal);
    await cluster.start(node);
    fault.restartedAtMs = at();
    options.say(`${stack.kind}: broker node ${node} answers again at ${fault.restartedAtMs} ms`);
  };
  const replicas = async (delayMs: number) => {
    await sleep(delayMs, options.signal);
    const last = `#${bench.replicas}`;
    const names = stack.processes.map((p) => p.name).filter((name) => name.endsWith(last));
    const fault: Fault = {
      kind: "replicas killed",
      atMs: at(),
      target: names.join(", "),
      restartedAtMs: null,
    };
    await Promise.all(names.map((name) => stack.kill(name)));
    faults.push(fault);
    options.say(`${stack.kind}: SIGKILL to ${fault.target} at ${fault.atMs} ms into the window`);
  };
  await Promise.all([
    bench.killBrokerAtMs === null ? null : broker(bench.killBrokerAtMs),
    bench.killReplicaAtMs === null ? null : replicas(bench.killReplicaAtMs),
  ]);
}

/** The load plan of a run's options. */
export function planOf(bench: BenchOptions, rate = bench.rate): LoadPlan {
  return {
    mode: bench.mode,
    rate,
    concurrency: bench.concurrency,
    warmupMs: bench.warmupMs,
    durationMs: bench.durationMs,
    drainTimeoutMs: bench.drainTimeoutMs,
  };
}

/** Options of `driveLoad`. */
export interface DriveLoadOptions extends RunPipelineOptions {
  /** A connection to the pipeline's database for the probes. */
  scratch: Sql;
  /** Pids of the shared broker(s) and Redis, whose CPU counts for the pipeline. */
  shared: SharedProcesses;
  /** Called for each transaction the probes make in the pipeline's database. */
  onQuery?: () => void;
  /** Called once the measured window starts (after the usage snapshot is taken). */
  onWindowStart?: () => void;
}

/** The pids of what the pipelines share: the Kafka broker(s) and Redis. */
export interface SharedProcesses {
  kafka: number[];
  /** How the brokers are named in the usage table. */
  kafkaName: string;
  redis: number[];
}

/** What one load plan measured over its window on a running stack. */
export interface LoadMeasurement {
  load: LoadResult;
  usage: Pick<PipelineResult, "processes" | "machine" | "cpuPerSaga">;
  backlog: Backlog;
  /** The window's CPU profiles (`--profile`), once saved. */
  profiles: Promise<ProfileSummary[]>;
}

/** A cluster's node ids: 1 to the number of its brokers. */
function nodesOf(cluster: PrivateCluster): number[] {
  return cluster.brokers.map((_, i) => i + 1);
}

/** The pids of a cluster's running nodes. */
export async function clusterPids(cluster: PrivateCluster): Promise<number[]> {
  const pids = await Promise.all(nodesOf(cluster).map((node) => cluster.pid(node)));
  return pids.filter((pid) => pid !== null);
}

/**
 * The shared processes: `kafka` when given (a cluster of the run's own), else the brokers whose
 * configuration is not in a temporary directory (the private brokers and clusters of tests and
 * chaos runs, which may run beside the bench, live there).
 */
export async function sharedProcesses(kafka?: number[]): Promise<SharedProcesses> {
  const temporary = await Deno.realPath(Deno.env.get("TMPDIR") ?? "/tmp").catch(() => "/tmp");
  return {
    kafkaName: kafka === undefined ? "kafka broker (shared)" : "kafka brokers (the run's cluster)",
    kafka: kafka ??
      await findProcesses((cmd) => cmd.includes("kafka.Kafka") && !cmd.includes(`${temporary}/`)),
    redis: await findProcesses((cmd) => /(^|\/)redis-server\b/.test(cmd)),
  };
}

/**
 * Drives `plan` through a running stack: observes final statuses in Redis, snapshots CPU at the
 * window's start and end, samples consumer lag and outbox backlog over the window, counts the
 * records each group handled in it, and the peak RSS of every process at the end.
 */
export async function driveLoad(
  stack: PipelineStack,
  plan: LoadPlan,
  options: DriveLoadOptions,
): Promise<LoadMeasurement> {
  const { say, scratch, shared } = options;
  const onQuery = options.onQuery ?? (() => {});
  const subscriber = connectRedis(options.infra.redisUrl, { connectionName: "bench-observer" });
  try {
    const window: { start?: Promise<UsageSnapshot>; end?: Promise<UsageSnapshot> } = {};
    let profiling: Promise<Array<RunningProfile | null>> = Promise.resolve([]);
    let profiled: Promise<ProfileSummary[]> = Promise.resolve([]);
    const sampling = new AbortController();
    const backlog: Backlog = { handledPerSecond: {}, consumerLagMax: {}, outboxMax: {} };
    const load = createLoadGenerator(plan, {
      produce: coalescing((orderIds) =>
        publish(
          stack.producer,
          orderIds.map((orderId) =>
            encodeMessage({
              eventType: "ORDER_CREATED",
              body: newOrder({ ...BENCH_ORDER, orderId }),
            })
          ),
        )
      ),
      onWindowStart() {
        say(`${stack.kind}: measured window started`);
        window.start = sampleUsage(stack, shared);
        profiling = Promise.all(
          stack.inspected.map((p) =>
            startProfile(p.inspectorPort).catch((error) => {
              say(`${stack.kind}: cannot profile ${p.name}: ${errorMessage(error)}`);
              return null;
            })
          ),
        );
        sampleBacklog(stack, scratch, backlog, { signal: sampling.signal, say, onQuery });
        options.onWindowStart?.();
      },
      onWindowEnd() {
        window.end = sampleUsage(stack, shared);
        profiled = stopProfiles(stack, profiling, say);
        sampling.abort();
        say(`${stack.kind}: measured window ended; draining`);
      },
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    await observeCompletions(stack, subscriber, (orderId, status) => load.observe(orderId, status));
    say(
      `${stack.kind}: ${
        plan.mode === "open"
          ? `offering ${plan.rate} orders/s`
          : `keeping ${plan.concurrency} orders in flight`
      } for ${(plan.warmupMs + plan.durationMs) / 1_000} s (warm-up ${plan.warmupMs / 1_000} s)…`,
    );
    const result = await load.run();
    sampling.abort();
    if (window.start === undefined || window.end === undefined) {
      throw new RangeError("Cannot measure usage: the measured window never ran");
    }
    const [first, last] = await Promise.all([window.start, window.end]);
    onQuery();
    backlog.handledPerSecond = await handledPerSecond(scratch, stack.kind, {
      fromMs: result.windowStartedAtMs,
      toMs: result.windowEndedAtMs,
    });
    // The work of the window in sagas: the records handled over the hops of one saga. The
    // same as the sagas finished when the pipeline keeps up; the honest count when it does not.
    const windowSeconds = result.windowMs / 1_000;
    const handled = Object.values(backlog.handledPerSecond).reduce((sum, n) => sum + n, 0);
    const usage = usageBetween(first, last, {
      seconds: windowSeconds,
      sagas: (handled * windowSeconds) / HOPS_PER_SAGA,
    });
    const peaks = await Promise.all(stack.processes.map((p) => sampleProcess(p.pid)));
    for (const [i, p] of stack.processes.entries()) {
      const entry = usage.processes.find((u) => u.name === p.name);
      const peak = peaks[i];
      if (entry !== undefined && peak !== null && peak !== undefined) {
        entry.peakRssMiB = round(peak.peakRssBytes / 2 ** 20, 1);
      }
    }
    return { load: result, usage, backlog, profiles: profiled };
  } finally {
    await closeRedis(subscriber);
  }
}

/** Stops the window's profiles, saves each as a `.cpuprofile` and summarises it. */
async function stopProfiles(
  stack: PipelineStack,
  running: Promise<Array<RunningProfile | null>>,
  say: (line: string) => void,
): Promise<ProfileSummary[]> {
  const summaries: ProfileSummary[] = [];
  for (const [i, profile] of (await running).entries()) {
    const name = stack.inspected[i]!.name;
    if (profile === null) continue;
    try {
      const cpuProfile = await profile.stop();
      const file = await Deno.makeTempFile({
        prefix: `sagas-bench-${stack.kind}-${name}-`,
        suffix: ".cpuprofile",
      });
      await Deno.writeTextFile(file, JSON.stringify(cpuProfile));
      summaries.push(summarizeProfile(cpuProfile, { process: name, file }));
      say(`${stack.kind}: CPU profile of ${name} saved to ${file}`);
    } catch (error) {
      say(`${stack.kind}: cannot profile ${name}: ${errorMessage(error)}`);
    }
  }
  return summaries;
}

/** Samples consumer lag and outbox backlog every few seconds until `signal` aborts. */
function sampleBacklog(
  stack: PipelineStack,
  scratch: Sql,
  backlog: Backlog,
  options: { signal: AbortSignal; say: (line: string) => void; onQuery: () => void },
): void {
  (async () => {
    while (!options.signal.aborted) {
      try {
        const lags = await consumerLags(stack.admin, stack.kafka, stack.groups);
        for (const [group, lag] of Object.entries(lags)) {
          backlog.consumerLagMax[group] = Math.max(backlog.consumerLagMax[group] ?? 0, lag);
        }
        if (stack.outboxSchemas.length > 0) {
          options.onQuery();
          const rows = await outboxBacklog(scratch, stack.outboxSchemas);
          for (const [schema, n] of Object.entries(rows)) {
            backlog.outboxMax[schema] = Math.max(backlog.outboxMax[schema] ?? 0, n);
          }
        }
      } catch (error) {
        options.say(`${stack.kind}: a backlog sample failed: ${errorMessage(error)}`);
      }
      await sleep(SAMPLE_INTERVAL_MS, options.signal).catch(() => {});
    }
  })();
}

/** Subscribes to final statuses: the saga's status channels, or the bare pipeline's channel. */
async function observeCompletions(
  stack: PipelineStack,
  subscriber: ReturnType<typeof connectRedis>,
  onFinal: (orderId: string, status: string) => void,
): Promise<void> {
  if (stack.kind === "bare") {
    subscriber.on("message", (channel: string, orderId: string) => {
      if (channel === stack.doneChannel) onFinal(orderId, "COMPLETED");
    });
    await subscriber.subscribe(stack.doneChannel);
    return;
  }
  const prefix = statusChannel("");
  subscriber.on("pmessage", (_pattern: string, channel: string, message: string) => {
    if (!channel.startsWith(prefix)) return;
    const { status } = JSON.parse(message) as { status: SagaStatus };
    if (FINAL_STATUSES.has(status)) onFinal(channel.slice(prefix.length), status);
  });
  await subscriber.psubscribe(`${prefix}*`);
}

interface UsageSnapshot {
  machine: { busyTicks: number; totalTicks: number };
  /** Process group name → kind and CPU seconds per pid. */
  groups: Map<string, { kind: ProcessUsage["kind"]; cpu: Map<number, number> }>;
}

async function sampleUsage(
  stack: PipelineStack,
  shared: SharedProcesses,
): Promise<UsageSnapshot> {
  const groups: UsageSnapshot["groups"] = new Map();
  const add = async (name: string, kind: ProcessUsage["kind"], pids: readonly number[]) => {
    const cpu = new Map<number, number>();
    for (const sample of await Promise.all(pids.map(sampleProcess))) {
      if (sample !== null) cpu.set(sample.pid, sample.cpuSeconds);
    }
    groups.set(name, { kind, cpu });
  };
  const backends = await backendsOf(stack.maintenance, stack.database).catch(() => []);
  const byApplication = new Map<string, number[]>();
  for (const { pid, application } of backends) {
    byApplication.set(application, [...(byApplication.get(application) ?? []), pid]);
  }
  await Promise.all([
    ...stack.processes.map((p) => add(p.name, "service", [p.pid])),
    add("bench (load generator, observer, log pump)", "bench", [Deno.pid]),
    add(shared.kafkaName, "infra", shared.kafka),
    add("redis-server (shared)", "infra", shared.redis),
    ...[...byApplication].map(([application, pids]) =>
      add(`postgres backends of ${application || "(unnamed)"}`, "postgres", pids)
    ),
  ]);
  return { machine: await sampleMachine(), groups };
}

function usageBetween(
  first: UsageSnapshot,
  last: UsageSnapshot,
  window: { seconds: number; sagas: number },
) {
  const processes: ProcessUsage[] = [];
  const perSaga = (cpuSeconds: number) =>
    window.sagas === 0 ? null : round((cpuSeconds * 1_000) / window.sagas, 2);
  for (const [name, { kind, cpu }] of last.groups) {
    const before = first.groups.get(name)?.cpu;
    let cpuSeconds = 0;
    // A pid not seen at the window's start started within it: all its CPU is the window's.
    for (const [pid, seconds] of cpu) cpuSeconds += seconds - (before?.get(pid) ?? 0);
    processes.push({
      name,
      kind,
      cpuSeconds: round(cpuSeconds),
      cores: round(cpuSeconds / window.seconds),
      msPerSaga: perSaga(cpuSeconds),
      peakRssMiB: null,
    });
  }
  const busy = last.machine.busyTicks - first.machine.busyTicks;
  const total = last.machine.totalTicks - first.machine.totalTicks;
  const cores = navigator.hardwareConcurrency;
  const systemSeconds = processes.filter((p) => p.kind !== "bench")
    .reduce((sum, p) => sum + p.cpuSeconds, 0);
  const ms = perSaga(systemSeconds);
  return {
    processes,
    machine: { cores, busyCores: total > 0 ? round((busy / total) * cores) : 0 },
    cpuPerSaga: {
      ms,
      ceilingPerSecond: ms === null || ms === 0 ? null : round((cores * 1_000) / ms, 1),
    },
  };
}

/** Row writes per table of the pipeline's database, read through a fresh connection. */
async function readTableWrites(databaseUrl: string): Promise<Record<string, TableWrites>> {
  const sql = connectDb(databaseUrl, { max: 1, applicationName: "bench-counters" });
  try {
    return await tableWrites(sql);
  } finally {
    await closeDb(sql);
  }
}

function perSagaWrites(
  before: Record<string, TableWrites>,
  after: Record<string, TableWrites>,
  sagas: number,
): Record<string, TableWrites> {
  const result: Record<string, TableWrites> = {};
  if (sagas === 0) return result;
  for (const [table, w] of Object.entries(after).sort(([a], [b]) => a.localeCompare(b))) {
    const b = before[table] ?? { inserted: 0, updated: 0, deleted: 0 };
    const delta = {
      inserted: w.inserted - b.inserted,
      updated: w.updated - b.updated,
      deleted: w.deleted - b.deleted,
    };
    if (delta.inserted + delta.updated + delta.deleted === 0) continue;
    result[table] = {
      inserted: round(delta.inserted / sagas, 2),
      updated: round(delta.updated / sagas, 2),
      deleted: round(delta.deleted / sagas, 2),
    };
  }
  return result;
}
