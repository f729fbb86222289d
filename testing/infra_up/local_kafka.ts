/**
 * This checkout's local Kafka (scripts/kafka_local.sh from the Maven jars): where each mode
 * (one broker, or the 3-node cluster) lives and answers, whether it runs, and its exit watched.
 *
 * @module
 */
import { relative, ROOT } from "./process.ts";

/** The script that runs Kafka from the Maven jars. */
export const KAFKA_LOCAL = `${ROOT}/scripts/kafka_local.sh`;

const KAFKA_LIB_DIR = `${ROOT}/.cache/kafka/lib`;

/** Nodes of the cluster of `--brokers 3`. */
export const CLUSTER_NODES = 3;

/** Which Kafka a command acts on: one broker, the 3-node cluster, or (down/reset/logs) either. */
export type Mode = "single" | "cluster";

/** This checkout's local Kafka of one mode: its data directory, nodes and addresses. */
export interface LocalKafka {
  mode: Mode;
  /** `--brokers N` for kafka_local.sh. */
  args: string[];
  /** Extra environment of kafka_local.sh (the cluster's first port, read from `.env` too). */
  env: Record<string, string>;
  dataDir: string;
  /** Per node: its pid file and log. */
  nodes: { pidFile: string; log: string }[];
  /** Client addresses; for the single broker, KAFKA_BROKERS. */
  brokers: string[];
}

/** Where this checkout's Kafka of `mode` lives and answers. */
export function localKafka(
  mode: Mode,
  brokers: string[],
  env: Record<string, string | undefined>,
): LocalKafka {
  if (mode === "single") {
    const dataDir = Deno.env.get("KAFKA_DATA_DIR") ?? `${ROOT}/.data/kafka`;
    return {
      mode,
      args: [],
      env: {},
      dataDir,
      nodes: [{ pidFile: `${dataDir}/broker.pid`, log: `${dataDir}/broker.log` }],
      brokers,
    };
  }
  const raw = env.KAFKA_PORT ?? "9092";
  const base = Number(raw);
  if (!/^\d+$/.test(raw) || base < 1 || base > 65_535 - 2 * CLUSTER_NODES) {
    throw new Error(`Cannot read KAFKA_PORT: expected a port number, got "${raw}"`);
  }
  const dataDir = Deno.env.get("KAFKA_DATA_DIR") ?? `${ROOT}/.data/kafka-cluster`;
  const numbers = Array.from({ length: CLUSTER_NODES }, (_, i) => i + 1);
  return {
    mode,
    args: ["--brokers", String(CLUSTER_NODES)],
    env: { KAFKA_PORT: String(base) },
    dataDir,
    nodes: numbers.map((n) => ({
      pidFile: `${dataDir}/node-${n}/broker.pid`,
      log: `${dataDir}/node-${n}/broker.log`,
    })),
    brokers: numbers.map((n) => `127.0.0.1:${base + 2 * (n - 1)}`),
  };
}

/** True when this checkout's own Kafka of that mode runs, one node of it at least. */
export async function localKafkaRuns(local: LocalKafka): Promise<boolean> {
  const { code } = await new Deno.Command("bash", {
    args: [KAFKA_LOCAL, ...local.args, "status"],
    cwd: ROOT,
    env: local.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0 || code === 4; // 4: some nodes of the cluster run
}

/** Aborts when a local broker process disappears, so start-up failures surface at once. */
export function watchLocalBroker(local: LocalKafka): AbortSignal {
  const controller = new AbortController();
  const watched: { pid: string; log: string }[] = [];
  for (const node of local.nodes) {
    try {
      watched.push({ pid: Deno.readTextFileSync(node.pidFile).trim(), log: node.log });
    } catch {
      controller.abort(new Error(`no pid file at ${relative(node.pidFile)}`));
      return controller.signal;
    }
  }
  const timer = setInterval(() => {
    for (const { pid, log } of watched) {
      try {
        Deno.statSync(`/proc/${pid}`);
      } catch {
        clearInterval(timer);
        const reason = lastBrokerError(log);
        controller.abort(
          new Error(`the broker process ${pid} exited${reason === undefined ? "" : `: ${reason}`}`),
        );
        return;
      }
    }
  }, 250);
  Deno.unrefTimer(timer);
  return controller.signal;
}

/** The last error a local broker logged, e.g. `ConfigException: Invalid value ...`. */
function lastBrokerError(log: string): string | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(log).slice(-65_536);
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

/** The Kafka version of the jars in .cache/kafka/lib. */
export async function localKafkaVersion(): Promise<string> {
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
