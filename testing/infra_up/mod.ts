/**
 * Brings up, stops, wipes or shows the logs of the local infrastructure (DESIGN §9).
 *
 *   deno run -A scripts/infra.ts up      Kafka + PostgreSQL + Redis answering, database and topics made
 *   deno run -A scripts/infra.ts down    stop the broker (data kept)
 *   deno run -A scripts/infra.ts reset   stop the broker and wipe its data
 *   deno run -A scripts/infra.ts logs    last lines of the broker log (`-f` to follow)
 *
 * `runInfra(args)` is the whole of `deno task infra:up|down|reset|logs` (scripts/infra.ts).
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
 *
 * `--brokers 3` (on every command) is a 3-node KRaft cluster instead of the single broker: the
 * Compose profile `cluster` (kafka-1..3) or three local nodes (`kafka_local.sh --brokers 3`,
 * in .data/kafka-cluster), each broker and controller, on 127.0.0.1:9092, 9094 and 9096
 * (KAFKA_PORT moves the first; the others follow two ports apart). `up` waits until all three
 * are registered, creates the topics with 3 replicas and `min.insync.replicas` 2 and prints the
 * KAFKA_BROKERS value that lists all three. Without the flag, `down`, `reset` and `logs` act on
 * whichever of the two this checkout runs (`down` and `reset` on both).
 */
import kafkajs from "kafkajs";
import type { Kafka } from "kafkajs";
import { COMMON_VARIABLES, loadConfig, withDotEnv } from "../../lib/config/mod.ts";
import { ensureDatabase } from "../../lib/db/mod.ts";
import { createKafka } from "../../lib/kafka/client.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import { ensureTopics, waitForKafka } from "../../lib/kafka/topics.ts";
import { ALL_TOPICS } from "../../lib/messages/topics.ts";
import { dockerAnswers } from "../docker.ts";
import { tcpAnswers } from "../net.ts";
import {
  CLUSTER_NODES,
  KAFKA_LOCAL,
  type LocalKafka,
  localKafka,
  localKafkaRuns,
  localKafkaVersion,
  type Mode,
  watchLocalBroker,
} from "./local_kafka.ts";
import {
  databaseName,
  ensureService,
  type MissingService,
  postgresService,
  redisService,
} from "./local_services.ts";
import { capture, exists, messageOf, ROOT, run, say, status } from "./process.ts";

const KAFKA_WAIT_MS = 90_000;
/** How long a broker whose port is open may take to answer before we call the port foreign. */
const RUNNING_BROKER_WAIT_MS = 15_000;
/** What the topics of the cluster of `--brokers 3` get. */
const CLUSTER_REPLICATION_FACTOR = 3;
const CLUSTER_MIN_INSYNC_REPLICAS = 2;
/** The Compose services of the cluster profile. */
const COMPOSE_CLUSTER = ["kafka-1", "kafka-2", "kafka-3"];
const COMPOSE_OTHERS = ["postgres", "redis", "mailpit"];

type Settings = ReturnType<typeof readSettings>;

/** Runs one subcommand; exits non-zero with one line on failure. */
export async function runInfra(args: string[]): Promise<number> {
  const { brokers, rest: [command, ...rest] } = brokersFlag(args);
  switch (command) {
    case "up":
      await up(readSettings(), brokers === CLUSTER_NODES ? "cluster" : "single");
      return 0;
    case "down":
    case "reset":
      await downOrReset(command, readSettings(), modesOf(brokers));
      return 0;
    case "logs":
      return await logs(rest, brokers === undefined ? undefined : modesOf(brokers)[0]!);
    default:
      throw new Error(`Unknown command "${command ?? ""}": use up, down, reset or logs`);
  }
}

/** `--brokers N` (or `--brokers=N`) anywhere in `args`: 1 or 3. */
function brokersFlag(args: string[]): { brokers: number | undefined; rest: string[] } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--brokers") value = args[++i] ?? "";
    else if (arg.startsWith("--brokers=")) value = arg.slice("--brokers=".length);
    else rest.push(arg);
  }
  if (value === undefined) return { brokers: undefined, rest };
  if (value !== "1" && value !== String(CLUSTER_NODES)) {
    throw new Error(
      `Cannot read --brokers: expected 1 (one broker) or ${CLUSTER_NODES} (a ${CLUSTER_NODES}-node ` +
        `cluster), got "${value}"`,
    );
  }
  return { brokers: Number(value), rest };
}

function modesOf(brokers: number | undefined): Mode[] {
  if (brokers === undefined) return ["single", "cluster"];
  return [brokers === CLUSTER_NODES ? "cluster" : "single"];
}

/** The environment, then `.env`. */
function readEnv(): Record<string, string | undefined> {
  return withDotEnv(Deno.env.toObject(), `${ROOT}/.env`);
}

/** The common variables from the environment, then `.env`; throws `ConfigError` on a bad one. */
function readSettings() {
  return loadConfig(COMMON_VARIABLES, readEnv());
}

async function up(settings: Settings, mode: Mode): Promise<void> {
  const started = performance.now();
  const docker = await dockerAnswers();
  const local = localKafka(mode, settings.KAFKA_BROKERS, readEnv());
  // The cluster's clients use its every node, whatever KAFKA_BROKERS says (checked below).
  const brokers = mode === "cluster" && docker ? composeClusterBrokers() : local.brokers;
  const kafka = createKafka({
    brokers,
    clientId: "infra",
    logLevel: kafkajs.logLevel.NOTHING,
    namespace: settings.KAFKA_NAMESPACE, // topics are made (and checked) under it, when set
  });
  let brokerExited: AbortSignal | undefined;
  let foreignBroker = false;
  if (docker) {
    if (mode === "cluster") {
      say(`a Docker engine answers: docker compose --profile cluster up -d --wait (the cluster)`);
      await run(
        "docker",
        [
          "compose",
          "--profile",
          "cluster",
          "up",
          "-d",
          "--wait",
          ...COMPOSE_CLUSTER,
          ...COMPOSE_OTHERS,
        ],
        "Cannot start the Compose services",
      );
    } else {
      say("a Docker engine answers: docker compose up -d --wait");
      await run("docker", ["compose", "up", "-d", "--wait"], "Cannot start the Compose services");
    }
  } else {
    foreignBroker = await usesRunningBroker(kafka, local, settings);
    if (!foreignBroker) {
      await run(
        "bash",
        [KAFKA_LOCAL, ...local.args, "up"],
        `Cannot start the local Kafka ${mode === "cluster" ? "cluster" : "broker"}`,
        local.env,
      );
      brokerExited = watchLocalBroker(local);
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

  const minBrokers = mode === "cluster" ? CLUSTER_NODES : 1;
  const cluster = await waitForKafka(kafka, {
    timeoutMs: KAFKA_WAIT_MS,
    signal: brokerExited,
    minBrokers,
  }).catch((error) => {
    throw new Error(
      `Kafka did not come up at ${brokers.join(",")}: ${messageOf(error)} ` +
        `(see "deno task infra:logs${mode === "cluster" ? " --brokers 3" : ""}")`,
    );
  });
  const version = docker
    ? await composeKafkaVersion(mode === "cluster" ? COMPOSE_CLUSTER[0]! : "kafka")
    : foreignBroker
    ? "(not this checkout's)"
    : await localKafkaVersion();
  say(
    `Kafka ${version} answers at ${brokers.join(",")} (cluster ${cluster.clusterId}, ` +
      `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? "unknown"})`,
  );
  if (mode === "cluster") sayBrokersVariable(brokers, settings);

  const name = databaseName(settings.DATABASE_URL);
  const created = await ensureDatabase(settings.DATABASE_URL).catch((error) => {
    throw new Error(
      `Cannot create database "${name}" at ${new URL(settings.DATABASE_URL).host}: ` +
        messageOf(error),
    );
  });
  say(`database "${name}" ${created ? "created" : "exists"}`);

  const partitions = settings.KAFKA_TOPIC_PARTITIONS;
  const newTopics = await ensureTopics(kafka, {
    topics: ALL_TOPICS,
    partitions,
    ...(mode === "cluster"
      ? {
        replicationFactor: CLUSTER_REPLICATION_FACTOR,
        minInsyncReplicas: CLUSTER_MIN_INSYNC_REPLICAS,
      }
      : {}),
  });
  const replication = mode === "cluster"
    ? `, ${CLUSTER_REPLICATION_FACTOR} replicas, min.insync.replicas ${CLUSTER_MIN_INSYNC_REPLICAS}`
    : "";
  say(
    newTopics.length === 0
      ? `topics: all ${ALL_TOPICS.length} exist${
        settings.KAFKA_NAMESPACE === "" ? "" : ` (namespace ${settings.KAFKA_NAMESPACE})`
      }`
      : `topics: created ${newTopics.join(", ")} (${partitions} partitions each${replication})`,
  );
  await warnOnPartitionCounts(kafka, partitions);
  if (mode === "cluster") await warnOnReplication(kafka);
  say(`up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The Compose cluster's client addresses (fixed in docker-compose.yml). */
function composeClusterBrokers(): string[] {
  return ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"];
}

/** Prints the KAFKA_BROKERS value of the cluster, and whether the configured one matches it. */
function sayBrokersVariable(brokers: string[], settings: Settings): void {
  const value = brokers.join(",");
  const configured = readEnv().KAFKA_BROKERS;
  if (configured === undefined) {
    say(
      `KAFKA_BROKERS=${value} (set it in .env or the environment: the services, sagactl and ` +
        `the tests default to 127.0.0.1:9092 alone)`,
    );
    return;
  }
  const same = [...settings.KAFKA_BROKERS].sort().join(",") === [...brokers].sort().join(",");
  say(
    same
      ? `KAFKA_BROKERS=${value} (as configured: every node)`
      : `warning: KAFKA_BROKERS is ${settings.KAFKA_BROKERS.join(",")}, not the cluster's ` +
        `every node: set KAFKA_BROKERS=${value}`,
  );
}

/**
 * True when a broker that is not this checkout's already answers at `local.brokers` (started
 * by another checkout, say): it is used as it is, and `down` leaves it running. When its port
 * is open but no Kafka answers there, starting our own broker could only fail: say so.
 */
async function usesRunningBroker(
  kafka: Kafka,
  local: LocalKafka,
  settings: Settings,
): Promise<boolean> {
  if (await localKafkaRuns(local)) return false;
  const brokers = local.brokers;
  const other = localKafka(
    local.mode === "single" ? "cluster" : "single",
    settings.KAFKA_BROKERS,
    readEnv(),
  );
  const open = await Promise.all(brokers.map((broker) => tcpAnswers(broker)));
  const answering = brokers.filter((_, i) => open[i]);
  if (answering.length === 0) return false;
  if (await localKafkaRuns(other)) {
    throw new Error(
      local.mode === "cluster"
        ? `Cannot start the local Kafka cluster: this checkout's single broker runs on ` +
          `${answering.join(",")} ("deno task infra:down --brokers 1" first, or set KAFKA_PORT ` +
          `for other ports)`
        : `Cannot start the local Kafka broker: this checkout's ${CLUSTER_NODES}-node cluster ` +
          `runs on ${answering.join(",")} (use it with "deno task infra:up --brokers 3", or ` +
          `"deno task infra:down --brokers 3" first)`,
    );
  }
  if (local.mode === "cluster" && answering.length < brokers.length) {
    throw new Error(
      `Cannot start the local Kafka cluster: ${answering.join(",")} ` +
        `${answering.length === 1 ? "is" : "are"} in use by a process that is not this ` +
        `checkout's cluster (set KAFKA_PORT for other ports)`,
    );
  }
  const minBrokers = local.mode === "cluster" ? CLUSTER_NODES : 1;
  await waitForKafka(kafka, { timeoutMs: RUNNING_BROKER_WAIT_MS, minBrokers }).catch((error) => {
    throw new Error(
      `Cannot start the local Kafka ${local.mode === "cluster" ? "cluster" : "broker"}: ` +
        `${answering.join(",")} is in use by a process that is not this checkout's ` +
        `${local.mode === "cluster" ? "cluster" : "broker"} and does not answer as Kafka ` +
        `(${messageOf(error)})`,
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

/** On the cluster, topics with fewer replicas or a lower `min.insync.replicas`: say so. */
async function warnOnReplication(kafka: Kafka): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = ALL_TOPICS.map((topic) => inNamespace(kafka, topic));
    const { topics } = await admin.fetchTopicMetadata({ topics: names });
    const configs = await admin.describeConfigs({
      resources: names.map((name) => ({
        type: kafkajs.ConfigResourceTypes.TOPIC,
        name,
        configNames: ["min.insync.replicas"],
      })),
      includeSynonyms: false,
    });
    const minIsr = new Map(configs.resources.map((resource) => [
      resource.resourceName,
      Number(resource.configEntries[0]?.configValue ?? 1),
    ]));
    const weak = topics.filter((topic) =>
      topic.partitions.some((p) => p.replicas.length < CLUSTER_REPLICATION_FACTOR) ||
      (minIsr.get(topic.name) ?? 1) < CLUSTER_MIN_INSYNC_REPLICAS
    );
    if (weak.length > 0) {
      const names = weak.map((t) => t.name).sort();
      say(
        `warning: ${names.join(", ")} ha${names.length === 1 ? "s" : "ve"} fewer than ` +
          `${CLUSTER_REPLICATION_FACTOR} replicas or min.insync.replicas below ` +
          `${CLUSTER_MIN_INSYNC_REPLICAS} (made elsewhere; "deno task infra:reset --brokers 3" ` +
          `then "deno task infra:up --brokers 3" recreates them)`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}

async function downOrReset(
  command: "down" | "reset",
  settings: Settings,
  modes: Mode[],
): Promise<void> {
  const started = performance.now();
  const docker = await dockerAnswers();
  if (docker) {
    // The cluster profile too: its containers go with the rest, whichever ran.
    const compose = modes.includes("cluster") ? ["compose", "--profile", "cluster"] : ["compose"];
    const args = command === "reset" ? [...compose, "down", "-v"] : [...compose, "down"];
    await run("docker", args, `Cannot ${command} the Compose services`);
  }
  for (const mode of modes) {
    const local = localKafka(mode, settings.KAFKA_BROKERS, readEnv());
    // The single broker as ever: always without Docker, else when it was started here. The
    // cluster when asked for, or else when this checkout has its data.
    const acts = mode === "single"
      ? !docker || await exists(local.nodes[0]!.pidFile)
      : modes.length === 1 || await exists(local.dataDir);
    if (!acts) continue;
    const ours = await localKafkaRuns(local);
    const what = mode === "cluster" ? "cluster" : "broker";
    await run(
      "bash",
      [KAFKA_LOCAL, ...local.args, command],
      `Cannot ${command} the local Kafka ${what}`,
      local.env,
    );
    const answering = await Promise.all(local.brokers.map((b) => tcpAnswers(b)));
    if (!ours && (mode === "single" ? answering.some(Boolean) : answering.every(Boolean))) {
      say(`the ${what} at ${local.brokers.join(",")} is not this checkout's: left running`);
    }
  }
  say(`${command} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function logs(args: string[], mode: Mode | undefined): Promise<number> {
  if (await dockerAnswers()) {
    const follow = args.includes("-f") || args.includes("--follow");
    const profile = mode === "single" ? [] : ["--profile", "cluster"];
    return await status("docker", [
      "compose",
      ...profile,
      "logs",
      "--tail",
      "100",
      ...(follow ? ["-f"] : []),
    ]);
  }
  const settings = readSettings();
  let local = localKafka(mode ?? "single", settings.KAFKA_BROKERS, readEnv());
  if (mode === undefined) {
    // Without --brokers: the cluster's logs when it runs and the single broker does not.
    const cluster = localKafka("cluster", settings.KAFKA_BROKERS, readEnv());
    if (!(await localKafkaRuns(local)) && await localKafkaRuns(cluster)) local = cluster;
  }
  return await status("bash", [KAFKA_LOCAL, ...local.args, "logs", ...args], local.env);
}

async function composeKafkaVersion(service: string): Promise<string> {
  const output = await capture("docker", [
    "compose",
    "--profile",
    "cluster",
    "logs",
    "--no-log-prefix",
    service,
  ]);
  const versions = [...output.matchAll(/Kafka version: (\S+)/g)].map((m) => m[1]);
  return versions.at(-1) ?? "(version unknown)";
}
