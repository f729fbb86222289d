/**
 * `deno task bench`: sagas per second and end-to-end latency of the real services (as
 * processes), side by side with a bare pipeline of the same seven Kafka hops and PostgreSQL
 * commits without saga logic, on this machine's Kafka, PostgreSQL and Redis. Prints tables, then
 * a JSON summary as the last line of standard output; progress goes to standard error.
 *
 *   deno task bench --mode open --rate 200 --warmup 10s --duration 30s
 *   deno task bench --mode closed --concurrency 128 --pipeline saga
 *   deno task bench --stripe-latency 300ms   # the Stripe test server answering like Stripe
 *   deno task bench --capacity               # the highest rate each pipeline keeps up with
 *   deno task bench --brokers 3 --replicas 2 --kill-broker-at 10s   # a cluster, a broker lost
 */
import { closeDb, connectDb } from "../lib/db/mod.ts";
import { errorMessage } from "../lib/errors/mod.ts";
import { closeRedis, connectRedis } from "../lib/redis/mod.ts";
import { capacityRatio, latencyRates, runCapacity } from "../tools/bench/capacity.ts";
import {
  type BenchOptions,
  parseBenchArgs,
  type PipelineKind,
  pipelinesOf,
  USAGE,
} from "../tools/bench/options.ts";
import { loadAverage, memoryTotalBytes } from "../tools/bench/procfs.ts";
import {
  type BenchSummary,
  capacityChart,
  type CapacitySummary,
  formatCapacityReport,
  formatReport,
  judgeTargets,
  type MachineInfo,
  ratioOf,
} from "../tools/bench/report.ts";
import { type PipelineResult, runPipeline, type RunPipelineOptions } from "../tools/bench/run.ts";
import { type PrivateCluster, startPrivateCluster } from "../tools/chaos/infra.ts";
import { type BenchInfra, benchInfra } from "../tools/bench/stack.ts";
import { projectEnv } from "./prepare.ts";

const KAFKA_LIB = new URL("../.cache/kafka/lib/", import.meta.url);

async function main(): Promise<number> {
  let options;
  try {
    options = parseBenchArgs(Deno.args);
  } catch (error) {
    console.error(errorMessage(error));
    console.error('Run "deno task bench --help" for the options.');
    return 2;
  }
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const say = (line: string) => console.error(`bench | ${line}`);
  const startedAt = new Date().toISOString();
  let infra = await benchInfra(projectEnv());
  const machine = await machineInfo(infra);
  say(`load average at start: ${machine.loadAverageAtStart.join(" ")} (${machine.cores} cores)`);
  let cluster: PrivateCluster | null = null;
  if (options.brokers === 3) {
    say("starting a 3-node Kafka cluster of the run's own…");
    cluster = await startPrivateCluster();
    infra = { ...infra, kafkaBrokers: cluster.brokers, cluster };
    say(`cluster up: ${cluster.brokers.join(",")} (topics RF 3, min.insync.replicas 2)`);
  }
  const stopping = new AbortController();
  const onInterrupt = () => {
    if (stopping.signal.aborted) Deno.exit(130);
    say("interrupted: stopping the load and cleaning up (again to exit at once)");
    stopping.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const run: RunPipelineOptions = { infra, say, signal: stopping.signal };
  const { help: _help, keepLogs: _keepLogs, profile: _profile, ...shown } = options;
  const header = { startedAt, code: await codeState(), machine, options: shown };
  const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  try {
    if (options.capacity) {
      const summary = await capacity(options, run, header);
      console.log(formatCapacityReport(summary, { colour }));
      console.log(JSON.stringify(summary));
      return 0;
    }
    const pipelines: BenchSummary["pipelines"] = {};
    for (const kind of pipelinesOf(options.pipeline)) {
      if (stopping.signal.aborted) break;
      const result: PipelineResult = await runPipeline(kind, options, run);
      pipelines[kind] = result;
    }
    const summary: BenchSummary = {
      benchmark: "sagas",
      ...header,
      pipelines,
      ratio: ratioOf(pipelines.saga, pipelines.bare),
      targets: judgeTargets(options, pipelines.saga, pipelines.bare),
    };
    console.log(formatReport(summary, { colour }));
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    await cluster?.dispose();
  }
}

/**
 * The capacity mode: each pipeline's search (the saga first: the latency points of both are at
 * 10/s and 50 % and 90 % of the saga's capacity), then the JSON and the SVG chart side by side
 * in `--out`.
 */
async function capacity(
  options: BenchOptions,
  run: RunPipelineOptions,
  header: Pick<CapacitySummary, "startedAt" | "code" | "machine" | "options">,
): Promise<CapacitySummary> {
  const pipelines: CapacitySummary["pipelines"] = {};
  let rates: Record<string, number> | null = null;
  for (const kind of pipelinesOf(options.pipeline) as PipelineKind[]) {
    if (run.signal?.aborted) break;
    const found = await runCapacity(kind, options, {
      ...run,
      ratesFor: (own) => rates ?? latencyRates(own),
    });
    rates ??= Object.fromEntries(
      Object.entries(found.latency).map(([label, point]) => [label, point.rate]),
    );
    pipelines[kind] = found;
  }
  const saga = pipelines.saga ?? pipelines.bare;
  const latency: CapacitySummary["latency"] = {};
  for (const [label, point] of Object.entries(saga?.latency ?? {})) {
    latency[label] = { p50: point.p50, p99: point.p99 };
  }
  const partial: Omit<CapacitySummary, "files"> = {
    benchmark: "capacity",
    ...header,
    capacity: {
      saga: pipelines.saga?.capacity ?? null,
      bare: pipelines.bare?.capacity ?? null,
      ratio: capacityRatio(pipelines.saga?.capacity, pipelines.bare?.capacity),
    },
    latency,
    cpuPerSaga: {
      saga: pipelines.saga?.cpuMsPerSagaAtCapacity ?? null,
      bare: pipelines.bare?.cpuMsPerSagaAtCapacity ?? null,
    },
    pipelines,
  };
  await Deno.mkdir(options.outDir, { recursive: true });
  const base = `${options.outDir}/capacity-${header.startedAt.replaceAll(":", "-")}`;
  const summary: CapacitySummary = {
    ...partial,
    files: { json: `${base}.json`, svg: `${base}.svg` },
  };
  await Deno.writeTextFile(summary.files.svg, capacityChart(partial));
  await Deno.writeTextFile(summary.files.json, JSON.stringify(summary, null, 2) + "\n");
  return summary;
}

/** The machine and the versions of what runs on it. */
async function machineInfo(infra: BenchInfra): Promise<MachineInfo> {
  const sql = connectDb(infra.databaseUrl, { max: 1, applicationName: "bench" });
  const redis = connectRedis(infra.redisUrl, { connectionName: "bench" });
  try {
    const [pg] = await sql<{ server_version: string }[]>`show server_version`;
    const info = await redis.info("server");
    return {
      cores: navigator.hardwareConcurrency,
      memoryMiB: Math.round((await memoryTotalBytes()) / 2 ** 20),
      kernel: (await Deno.readTextFile("/proc/sys/kernel/osrelease")).trim(),
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      typescript: Deno.version.typescript,
      kafka: await kafkaVersion(),
      postgres: pg?.server_version ?? "unknown",
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown",
      loadAverageAtStart: await loadAverage(),
    };
  } finally {
    await closeRedis(redis);
    await closeDb(sql);
  }
}

/** The commit measured and how many files differ from it (read-only git commands). */
async function codeState(): Promise<BenchSummary["code"]> {
  const git = async (...args: string[]) => {
    const { success, stdout } = await new Deno.Command("git", {
      args,
      cwd: new URL("..", import.meta.url),
      stdout: "piped",
      stderr: "null",
    }).output();
    return success ? new TextDecoder().decode(stdout) : null;
  };
  try {
    const commit = (await git("rev-parse", "--short", "HEAD"))?.trim() || "unknown";
    const status = await git("status", "--porcelain");
    return {
      commit,
      changedFiles: status === null ? null : status.split("\n").filter((l) => l !== "").length,
    };
  } catch {
    return { commit: "unknown", changedFiles: null };
  }
}

/** The Kafka version of the jars `infra:up` runs (the broker's own build). */
async function kafkaVersion(): Promise<string> {
  try {
    for await (const entry of Deno.readDir(KAFKA_LIB)) {
      const match = /^kafka-server-(\d[\w.-]*)\.jar$/.exec(entry.name);
      if (match) return match[1]!;
    }
  } catch {
    // Docker Compose or a broker of another kind: not known from here.
  }
  return "unknown";
}

if (import.meta.main) {
  main().then(
    (code) => Deno.exit(code),
    (error) => {
      console.error(`Benchmark failed: ${errorMessage(error).replace(/\s*\n\s*/g, " ")}`);
      Deno.exit(1);
    },
  );
}
