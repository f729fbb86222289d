/**
 * Brings up, stops, wipes or shows the logs of the local infrastructure (DESIGN §9).
 *
 *   deno run -A scripts/infra.ts up      Kafka + PostgreSQL + Redis answering, database and topics made
 *   deno run -A scripts/infra.ts down    stop the broker (data kept)
 *   deno run -A scripts/infra.ts reset   stop the broker and wipe its data
 *   deno run -A scripts/infra.ts logs    last lines of the broker log (`-f` to follow)
 *
 * With a Docker engine that answers (`docker info`), Docker Compose runs everything from
 * docker-compose.yml. Otherwise a real Apache Kafka broker runs from Maven Central jars
 * (scripts/kafka_local.sh) beside the machine's PostgreSQL and Redis, which are started when
 * installed but stopped. Either way the script then waits on a real Kafka client call, creates
 * the database named in DATABASE_URL and the topics of lib/messages, and is a quick no-op when
 * everything is up already. A broker that already answers at KAFKA_BROKERS without being this
 * checkout's (another checkout's, say) is used as it is: `up` does not start a second one and
 * `down` leaves it running. Reads the common variables of lib/config (KAFKA_BROKERS,
 * KAFKA_NAMESPACE, KAFKA_TOPIC_PARTITIONS, DATABASE_URL, REDIS_URL) from the environment, then
 * `.env`, then the defaults; a bad value stops it with one line naming the variable.
 */
import kafkajs from "kafkajs";
import type { Kafka } from "kafkajs";
import { COMMON_VARIABLES, loadConfig, withDotEnv } from "../lib/config/mod.ts";
import { ensureDatabase } from "../lib/db/mod.ts";
import { ConfigError } from "../lib/errors/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { ensureTopics, waitForKafka } from "../lib/kafka/topics.ts";
import { ALL_TOPICS } from "../lib/messages/topics.ts";
import { dockerAnswers } from "./docker.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");
const KAFKA_LOCAL = `${ROOT}/scripts/kafka_local.sh`;
const KAFKA_LIB_DIR = `${ROOT}/.cache/kafka/lib`;
const KAFKA_PID_FILE = `${ROOT}/.data/kafka/broker.pid`;
const KAFKA_BROKER_LOG = `${ROOT}/.data/kafka/broker.log`;
const KAFKA_WAIT_MS = 90_000;
/** How long a broker whose port is open may take to answer before we call the port foreign. */
const RUNNING_BROKER_WAIT_MS = 15_000;
const SERVICE_WAIT_MS = 30_000;

type Settings = ReturnType<typeof readSettings>;

/** Runs one subcommand; exits non-zero with one line on failure. */
async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "up":
      await up(readSettings());
      return 0;
    case "down":
    case "reset":
      await downOrReset(command, readSettings());
      return 0;
    case "logs":
      return await logs(rest);
    default:
      throw new Error(`Unknown command "${command ?? ""}": use up, down, reset or logs`);
  }
}

/** The common variables from the environment, then `.env`; throws `ConfigError` on a bad one. */
function readSettings() {
  return loadConfig(COMMON_VARIABLES, withDotEnv(Deno.env.toObject(), `${ROOT}/.env`));
}

async function up(settings: Settings): Promise<void> {
  const started = performance.now();
  const brokers = settings.KAFKA_BROKERS;
  const kafka = createKafka({
    brokers,
    clientId: "infra",
    logLevel: kafkajs.logLevel.NOTHING,
    namespace: settings.KAFKA_NAMESPACE, // topics are made (and checked) under it, when set
  });
  const docker = await dockerAnswers();
  let brokerExited: AbortSignal | undefined;
  let foreignBroker = false;
  if (docker) {
    say("a Docker engine answers: docker compose up -d --wait");
    await run("docker", ["compose", "up", "-d", "--wait"], "Cannot start the Compose services");
  } else {
    foreignBroker = await usesRunningBroker(kafka, brokers);
    if (!foreignBroker) {
      await run("bash", [KAFKA_LOCAL, "up"], "Cannot start the local Kafka broker");
      brokerExited = watchLocalBroker();
    }
    const [pg, redis] = await Promise.all([
      ensureService(postgresService(new URL(settings.DATABASE_URL))),
      ensureService(redisService(new URL(settings.REDIS_URL))),
    ]);
    const missing = [pg, redis].filter((s): s is MissingService => s !== undefined);
    if (missing.length > 0) {
      throw new Error(
        `${missing.map((s) => s.name).join(" and ")} not installed: ` +
          `apt-get install ${missing.map((s) => s.aptPackage).join(" ")}`,
      );
    }
  }

  const cluster = await waitForKafka(kafka, { timeoutMs: KAFKA_WAIT_MS, signal: brokerExited })
    .catch((error) => {
      throw new Error(
        `Kafka did not come up at ${brokers.join(",")}: ${messageOf(error)} ` +
          `(see "deno task infra:logs")`,
      );
    });
  const version = docker
    ? await composeKafkaVersion()
    : foreignBroker
    ? "(not this checkout's)"
    : await localKafkaVersion();
  say(
    `Kafka ${version} answers at ${brokers.join(",")} (cluster ${cluster.clusterId}, ` +
      `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? "unknown"})`,
  );

  const name = databaseName(settings.DATABASE_URL);
  const created = await ensureDatabase(settings.DATABASE_URL).catch((error) => {
    throw new Error(
      `Cannot create database "${name}" at ${new URL(settings.DATABASE_URL).host}: ` +
        messageOf(error),
    );
  });
  say(`database "${name}" ${created ? "created" : "exists"}`);

  const partitions = settings.KAFKA_TOPIC_PARTITIONS;
  const newTopics = await ensureTopics(kafka, { topics: ALL_TOPICS, partitions });
  say(
    newTopics.length === 0
      ? `topics: all ${ALL_TOPICS.length} exist${
        settings.KAFKA_NAMESPACE === "" ? "" : ` (namespace ${settings.KAFKA_NAMESPACE})`
      }`
      : `topics: created ${newTopics.join(", ")} (${partitions} partitions each)`,
  );
  await warnOnPartitionCounts(kafka, partitions);
  say(`up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * True when a broker that is not this checkout's already answers at `brokers` (started by
 * another checkout, say): it is used as it is, and `down` leaves it running. When its port is
 * open but no Kafka answers there, starting our own broker could only fail: say so.
 */
async function usesRunningBroker(kafka: Kafka, brokers: string[]): Promise<boolean> {
  if (await localBrokerRuns()) return false;
  const open = await Promise.all(brokers.map((broker) => tcpAnswers(broker)));
  const answering = brokers.filter((_, i) => open[i]);
  if (answering.length === 0) return false;
  await waitForKafka(kafka, { timeoutMs: RUNNING_BROKER_WAIT_MS }).catch((error) => {
    throw new Error(
      `Cannot start the local Kafka broker: ${answering.join(",")} is in use by a process that ` +
        `is not this checkout's broker and does not answer as Kafka (${messageOf(error)})`,
    );
  });
  say(
    `a Kafka broker that is not this checkout's already answers at ${brokers.join(",")}: ` +
      `using it (not started here, so "infra:down" leaves it running)`,
  );
  return true;
}

/** Topics made elsewhere (a test, an older run) may have another partition count: say so. */
async function warnOnPartitionCounts(kafka: Kafka, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = ALL_TOPICS.map((topic) => inNamespace(kafka, topic));
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    const byCount = new Map<number, string[]>();
    for (const topic of topics) {
      if (topic.partitions.length === partitions) continue;
      byCount.set(topic.partitions.length, [
        ...(byCount.get(topic.partitions.length) ?? []),
        topic.name,
      ]);
    }
    for (const [count, names] of byCount) {
      say(
        `warning: ${names.sort().join(", ")} ha${names.length === 1 ? "s" : "ve"} ${count} ` +
          `partition(s), not ${partitions} (made elsewhere; "deno task infra:reset" then ` +
          `"deno task infra:up" recreates them)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}

async function downOrReset(command: "down" | "reset", settings: Settings): Promise<void> {
  const started = performance.now();
  const docker = await dockerAnswers();
  if (docker) {
    const args = command === "reset" ? ["compose", "down", "-v"] : ["compose", "down"];
    await run("docker", args, `Cannot ${command} the Compose services`);
  }
  // The local broker too when one was started here, even where Docker answers.
  if (!docker || await exists(KAFKA_PID_FILE)) {
    const ours = await localBrokerRuns();
    await run("bash", [KAFKA_LOCAL, command], `Cannot ${command} the local Kafka broker`);
    const brokers = settings.KAFKA_BROKERS;
    if (!ours && (await Promise.all(brokers.map((b) => tcpAnswers(b)))).some(Boolean)) {
      say(`the broker at ${brokers.join(",")} is not this checkout's: left running`);
    }
  }
  say(`${command} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function logs(args: string[]): Promise<number> {
  if (await dockerAnswers()) {
    const follow = args.includes("-f") || args.includes("--follow");
    return await status("docker", ["compose", "logs", "--tail", "100", ...(follow ? ["-f"] : [])]);
  }
  return await status("bash", [KAFKA_LOCAL, "logs", ...args]);
}

// ---------------------------------------------------------------------------------------------
// Kafka

/** True when this checkout's own broker runs (by its pid file or its properties path). */
async function localBrokerRuns(): Promise<boolean> {
  const { code } = await new Deno.Command("bash", {
    args: [KAFKA_LOCAL, "status"],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/** Aborts when the local broker process disappears, so start-up failures surface at once. */
function watchLocalBroker(): AbortSignal {
  const controller = new AbortController();
  let pid: string;
  try {
    pid = Deno.readTextFileSync(KAFKA_PID_FILE).trim();
  } catch {
    controller.abort(new Error(`no pid file at ${relative(KAFKA_PID_FILE)}`));
    return controller.signal;
  }
  const timer = setInterval(() => {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      clearInterval(timer);
      const reason = lastBrokerError();
      controller.abort(
        new Error(`the broker process ${pid} exited${reason === undefined ? "" : `: ${reason}`}`),
      );
    }
  }, 250);
  Deno.unrefTimer(timer);
  return controller.signal;
}

/** The last error the local broker logged, e.g. `ConfigException: Invalid value ...`. */
function lastBrokerError(): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(KAFKA_BROKER_LOG).slice(-65_536);
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const logged = /^\[[^\]]+\] (?:ERROR|FATAL) (.*)$/.exec(lines[i]!);
    if (!logged) continue;
    const exception = /^(?:[\w$]+\.)*([\w$]+(?:Exception|Error)\b.*)$/.exec(lines[i + 1] ?? "");
    return exception?.[1] ?? logged[1];
  }
  return undefined;
}

async function localKafkaVersion(): Promise<string> {
  try {
    for await (const entry of Deno.readDir(KAFKA_LIB_DIR)) {
      const match = /^kafka_2\.13-(.+)\.jar$/.exec(entry.name);
      if (match) return match[1]!;
    }
  } catch {
    // No jars: the version stays unknown.
  }
  return "(version unknown)";
}

async function composeKafkaVersion(): Promise<string> {
  const output = await capture("docker", ["compose", "logs", "--no-log-prefix", "kafka"]);
  const versions = [...output.matchAll(/Kafka version: (\S+)/g)].map((m) => m[1]);
  return versions.at(-1) ?? "(version unknown)";
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL and Redis

interface LocalService {
  name: string;
  address: string;
  variable: string;
  aptPackage: string;
  /** Starts the installed service, or resolves false when it is not installed. */
  start: () => Promise<boolean>;
}

type MissingService = Pick<LocalService, "name" | "aptPackage">;

function postgresService(url: URL): LocalService {
  const address = `${url.hostname}:${url.port || 5432}`;
  return {
    name: "PostgreSQL",
    address,
    variable: "DATABASE_URL",
    aptPackage: "postgresql",
    async start() {
      const versions = await postgresVersions();
      if (versions.length === 0 || !(await onPath("pg_ctlcluster"))) return false;
      const version = versions.at(-1)!;
      say(`PostgreSQL ${version} is stopped: starting it`);
      await run(
        "pg_ctlcluster",
        ["--skip-systemctl-redirect", version, "main", "start"],
        `Cannot start PostgreSQL ${version}`,
      );
      return true;
    },
  };
}

function redisService(url: URL): LocalService {
  const port = url.port || "6379";
  return {
    name: "Redis",
    address: `${url.hostname}:${port}`,
    variable: "REDIS_URL",
    aptPackage: "redis-server",
    async start() {
      if (!(await onPath("redis-server"))) return false;
      say("Redis is stopped: starting it");
      await run(
        "redis-server",
        [
          "--daemonize",
          "yes",
          "--bind",
          "127.0.0.1",
          "-::1",
          "--port",
          port,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        "Cannot start Redis",
      );
      return true;
    },
  };
}

/** Makes sure the service answers; resolves with it when it is missing from this machine. */
async function ensureService(service: LocalService): Promise<MissingService | undefined> {
  if (await tcpAnswers(service.address)) {
    say(`${service.name} answers at ${service.address}`);
    return undefined;
  }
  const host = service.address.slice(0, service.address.lastIndexOf(":"));
  if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) {
    throw new Error(
      `${service.name} does not answer at ${service.address} (from ${service.variable}) ` +
        `and is not local, so it cannot be started here`,
    );
  }
  if (!(await service.start())) return service;
  const deadline = Date.now() + SERVICE_WAIT_MS;
  while (!(await tcpAnswers(service.address))) {
    if (Date.now() > deadline) {
      throw new Error(
        `${service.name} was started but does not answer at ${service.address} ` +
          `after ${SERVICE_WAIT_MS / 1000} s`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say(`${service.name} answers at ${service.address}`);
  return undefined;
}

async function postgresVersions(): Promise<string[]> {
  const versions: string[] = [];
  try {
    for await (const entry of Deno.readDir("/etc/postgresql")) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) versions.push(entry.name);
    }
  } catch {
    return [];
  }
  return versions.sort((a, b) => Number(a) - Number(b));
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
}

// ---------------------------------------------------------------------------------------------
// Processes and probes

/** Runs a command with inherited output; throws `failure` with its exit code when it fails. */
async function run(command: string, args: string[], failure: string): Promise<void> {
  const code = await status(command, args).catch((error) => {
    throw new Error(`${failure}: ${messageOf(error)}`);
  });
  if (code !== 0) throw new Error(`${failure}: ${command} exited with ${code}`);
}

async function status(command: string, args: string[]): Promise<number> {
  const { code } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return code;
}

async function capture(command: string, args: string[]): Promise<string> {
  const { stdout } = await new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(stdout);
}

async function onPath(name: string): Promise<boolean> {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"]);
  for (const dir of dirs) {
    if (dir !== "" && await exists(`${dir}/${name}`)) return true;
  }
  return false;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function tcpAnswers(address: string, timeoutMs = 2_000): Promise<boolean> {
  const index = address.lastIndexOf(":");
  const hostname = address.slice(0, index).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(index + 1));
  try {
    const connection = await Deno.connect({
      hostname,
      port,
      signal: AbortSignal.timeout(timeoutMs),
    });
    connection.close();
    return true;
  } catch {
    return false;
  }
}

function relative(path: string): string {
  return path.startsWith(`${ROOT}/`) ? path.slice(ROOT.length + 1) : path;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function say(line: string): void {
  console.log(`infra: ${line}`);
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (error) {
    // A ConfigError is already the one line naming the variable.
    console.error(error instanceof ConfigError ? error.message : `infra: ${messageOf(error)}`);
    code = 1;
  }
  Deno.exit(code);
}
