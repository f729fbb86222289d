/**
 * `deno task bench`: sagas per second and end-to-end latency of the real services (as
 * processes), side by side with a bare pipeline of the same seven Kafka hops and PostgreSQL
 * commits without saga logic, on this machine's Kafka, PostgreSQL and Redis. Prints tables, then
 * a JSON summary as the last line of standard output; progress goes to standard error.
 *
 *   deno task bench --mode open --rate 200 --warmup 10s --duration 30s
 *   deno task bench --mode closed --concurrency 128 --pipeline saga
 *   deno task bench --stripe-latency 300ms   # the Stripe test server answering like Stripe
 */
import { closeDb, connectDb } from "../lib/db/mod.ts";
import { errorMessage } from "../lib/errors/mod.ts";
import { closeRedis, connectRedis } from "../lib/redis/mod.ts";
import { parseBenchArgs, pipelinesOf, USAGE } from "../tools/bench/options.ts";
import { loadAverage, memoryTotalBytes } from "../tools/bench/procfs.ts";
import {
  type BenchSummary,
  formatReport,
  judgeTargets,
  type MachineInfo,
  ratioOf,
} from "../tools/bench/report.ts";
import { type PipelineResult, runPipeline } from "../tools/bench/run.ts";
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
  const infra = await benchInfra(projectEnv());
  const machine = await machineInfo(infra);
  say(`load average at start: ${machine.loadAverageAtStart.join(" ")} (${machine.cores} cores)`);
  const stopping = new AbortController();
  const onInterrupt = () => {
    if (stopping.signal.aborted) Deno.exit(130);
    say("interrupted: stopping the load and cleaning up (again to exit at once)");
    stopping.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const pipelines: BenchSummary["pipelines"] = {};
  try {
    for (const kind of pipelinesOf(options.pipeline)) {
      if (stopping.signal.aborted) break;
      const result: PipelineResult = await runPipeline(kind, options, {
        infra,
        say,
        signal: stopping.signal,
      });
      pipelines[kind] = result;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  const { help: _help, keepLogs: _keepLogs, profile: _profile, ...shown } = options;
  const summary: BenchSummary = {
    benchmark: "sagas",
    startedAt,
    code: await codeState(),
    machine,
    options: shown,
    pipelines,
    ratio: ratioOf(pipelines.saga, pipelines.bare),
    targets: judgeTargets(options, pipelines.saga, pipelines.bare),
  };
  const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  console.log(formatReport(summary, { colour }));
  console.log(JSON.stringify(summary));
  return 0;
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
