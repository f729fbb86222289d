/** The command line of `deno task bench`, parsed and checked in one pure function. */
import { parseArgs } from "node:util";
import { parseDuration } from "../../lib/config/mod.ts";
import { isLogLevel, type LogLevel } from "../../lib/log/mod.ts";
import { MAX_REPLICAS } from "../../testing/supervisor.ts";

/** Open loop: orders at a fixed offered rate. Closed loop: a fixed number of sagas in flight. */
export type LoadMode = "open" | "closed";

/** Which pipelines one run measures. */
export type PipelineChoice = "saga" | "bare" | "both";

/** A pipeline the bench can run. */
export type PipelineKind = "saga" | "bare";

/** Everything one bench run is told. */
export interface BenchOptions {
  mode: LoadMode;
  /** Offered sagas per second (open loop). */
  rate: number;
  /** Sagas in flight (closed loop). */
  concurrency: number;
  /** Load before the measured window, not counted. */
  warmupMs: number;
  /** The measured window. */
  durationMs: number;
  pipeline: PipelineChoice;
  /** Partitions of each topic (the services' default is 6). */
  partitions: number;
  /** Processes of each service (or bare role), all in its consumer group. */
  replicas: number;
  /** LOG_LEVEL of the services (production default: info). */
  logLevel: LogLevel;
  /** Median answer time of the Stripe test server in ms (its `STRIPE_TEST_LATENCY`; 0: none). */
  stripeLatencyMs: number;
  /** How long, after the window, to wait for the orders of the window to finish. */
  drainTimeoutMs: number;
  /** Keep the processes' log files even when the run succeeds. */
  keepLogs: boolean;
  /** Processes to CPU-profile over the window (by name, e.g. `orchestrator`). */
  profile: string[];
  /**
   * Capacity mode: step the offered rate up (open loop) until each pipeline no longer keeps up;
   * `rate` is then the first step's, `warmupMs` and `durationMs` each step's.
   */
  capacity: boolean;
  /** Capacity mode: the highest rate offered (the search stops there, capacity "at least"). */
  maxRate: number;
  /** Where capacity mode writes its JSON summary and SVG chart. */
  outDir: string;
  /** Kafka brokers: 1 (the configured infrastructure) or 3 (a private cluster, RF 3, min ISR 2). */
  brokers: 1 | 3;
  /** SIGKILL one broker of the private cluster this long into the measured window (null: none). */
  killBrokerAtMs: number | null;
  /** SIGKILL the last replica of every service this long into the measured window (null: none). */
  killReplicaAtMs: number | null;
  help: boolean;
}

/** The usage text of `deno task bench`. */
export const USAGE = `Usage: deno task bench [options]

Runs the four services (and, for comparison, a bare pipeline of the same seven Kafka hops with
one PostgreSQL commit per hop and no saga logic) as processes on a fresh database and Kafka
namespace, drives them with ORDER_CREATED on the happy path and prints a table and, as the last
line, a JSON summary.

Options:
  --mode open|closed     open: a fixed offered rate; closed: a fixed number in flight (open)
  --capacity             step the offered rate up (open loop) for each pipeline until it no
                         longer keeps up; report the highest rate sustained, saga ÷ bare,
                         latency at 10/s, 50 % and 90 % of the saga's capacity; write a JSON
                         summary and an SVG chart (latency against throughput) to --out
  --max-rate N           capacity mode: the highest rate offered (4000)
  --out DIR              capacity mode: where the JSON and the SVG go (.data/bench)
  --rate N               offered sagas/s in open loop (100; capacity mode: the first step, 10)
  --concurrency N        sagas in flight in closed loop (32)
  --warmup D             load before the measured window, e.g. 10s (10s; capacity: 10s a step)
  --duration D           the measured window, e.g. 30s (30s; capacity: 15s a step)
  --pipeline P           saga, bare or both (both)
  --partitions N         partitions per topic (6, the services' default)
  --replicas N           processes of every service (and bare role), each in its group (1)
  --log-level L          LOG_LEVEL of the processes: debug, info, warn, error (info)
  --stripe-latency D     median answer time of the Stripe test server, e.g. 300ms, with a long
                         tail (p99 ≈ 3× the median), like Stripe's own API (0)
  --drain-timeout D      wait this long after the window for its orders to finish (30s;
                         capacity: 15s)
  --brokers 1|3          1: the configured Kafka; 3: a private 3-node cluster of the run's own,
                         topics of replication factor 3, min.insync.replicas 2 (1)
  --kill-broker-at D     with --brokers 3: SIGKILL one broker this long into the measured window
                         (restarted 10 s later)
  --kill-replica-at D    with --replicas ≥ 2: SIGKILL the last replica of every service (or bare
                         role) this long into the measured window (not restarted)
  --keep-logs            keep the processes' log files (kept anyway when a run fails)
  --profile P[,P…]       CPU-profile these processes over the window through the V8 inspector,
                         e.g. orchestrator,bare-orchestrator (saved as .cpuprofile, summarised)
  -h, --help             show this text`;

/** Parses the bench's arguments; throws a TypeError or RangeError naming the bad option. */
export function parseBenchArgs(args: readonly string[]): BenchOptions {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      mode: { type: "string", default: "open" },
      capacity: { type: "boolean", default: false },
      "max-rate": { type: "string", default: "4000" },
      out: { type: "string", default: ".data/bench" },
      rate: { type: "string" },
      concurrency: { type: "string", default: "32" },
      warmup: { type: "string" },
      duration: { type: "string" },
      pipeline: { type: "string", default: "both" },
      partitions: { type: "string", default: "6" },
      replicas: { type: "string", default: "1" },
      "log-level": { type: "string", default: "info" },
      "stripe-latency": { type: "string", default: "0" },
      "drain-timeout": { type: "string" },
      brokers: { type: "string", default: "1" },
      "kill-broker-at": { type: "string" },
      "kill-replica-at": { type: "string" },
      "keep-logs": { type: "boolean", default: false },
      profile: { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (positionals.length > 0) {
    throw new TypeError(`Cannot run the benchmark: unexpected argument "${positionals[0]}"`);
  }
  const mode = oneOf("--mode", values.mode, ["open", "closed"] as const);
  const pipeline = oneOf("--pipeline", values.pipeline, ["saga", "bare", "both"] as const);
  const logLevel = values["log-level"];
  if (!isLogLevel(logLevel)) {
    throw new TypeError(
      `Cannot run the benchmark: --log-level must be debug, info, warn or error (got "${logLevel}")`,
    );
  }
  const capacity = values.capacity;
  if (capacity && mode === "closed") {
    throw new TypeError("Cannot run the benchmark: --capacity steps an open loop (drop --mode)");
  }
  const brokers = oneOf("--brokers", values.brokers, ["1", "3"] as const) === "3" ? 3 : 1;
  const replicas = positiveInteger("--replicas", values.replicas, MAX_REPLICAS);
  const killAt = (name: string, text: string | undefined) => {
    if (text === undefined) return null;
    if (capacity) throw new TypeError(`Cannot run the benchmark: ${name} is not for --capacity`);
    return durationMs(name, text, { allowZero: true });
  };
  const killBrokerAtMs = killAt("--kill-broker-at", values["kill-broker-at"]);
  if (killBrokerAtMs !== null && brokers !== 3) {
    throw new TypeError("Cannot run the benchmark: --kill-broker-at needs --brokers 3");
  }
  const killReplicaAtMs = killAt("--kill-replica-at", values["kill-replica-at"]);
  if (killReplicaAtMs !== null && replicas < 2) {
    throw new TypeError("Cannot run the benchmark: --kill-replica-at needs --replicas 2 or more");
  }
  return {
    mode,
    rate: positiveNumber("--rate", values.rate ?? (capacity ? "10" : "100"), 20_000),
    concurrency: positiveInteger("--concurrency", values.concurrency, 10_000),
    warmupMs: durationMs("--warmup", values.warmup ?? "10s", {
      allowZero: true,
    }),
    durationMs: durationMs("--duration", values.duration ?? (capacity ? "15s" : "30s"), {
      allowZero: false,
    }),
    pipeline,
    partitions: positiveInteger("--partitions", values.partitions, 1_000),
    replicas,
    logLevel,
    stripeLatencyMs: stripeLatency(values["stripe-latency"]),
    drainTimeoutMs: durationMs(
      "--drain-timeout",
      values["drain-timeout"] ?? (capacity ? "15s" : "30s"),
      { allowZero: false },
    ),
    keepLogs: values["keep-logs"],
    profile: values.profile.split(",").map((name) => name.trim()).filter((name) => name !== ""),
    capacity,
    maxRate: positiveNumber("--max-rate", values["max-rate"], 20_000),
    outDir: values.out,
    brokers,
    killBrokerAtMs,
    killReplicaAtMs,
    help: values.help,
  };
}

/** The pipelines a choice stands for, in the order they run. */
export function pipelinesOf(choice: PipelineChoice): PipelineKind[] {
  return choice === "both" ? ["saga", "bare"] : [choice];
}

function oneOf<const T extends readonly string[]>(name: string, value: string, allowed: T) {
  if (!allowed.includes(value)) {
    throw new TypeError(
      `Cannot run the benchmark: ${name} must be ${allowed.join(" or ")} (got "${value}")`,
    );
  }
  return value as T[number];
}

function positiveNumber(name: string, text: string, max: number): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new RangeError(
      `Cannot run the benchmark: ${name} must be a number above 0 and at most ${max} (got "${text}")`,
    );
  }
  return value;
}

function positiveInteger(name: string, text: string, max: number): number {
  const value = positiveNumber(name, text, max);
  if (!Number.isInteger(value)) {
    throw new RangeError(`Cannot run the benchmark: ${name} must be an integer (got "${text}")`);
  }
  return value;
}

function stripeLatency(text: string): number {
  const ms = durationMs("--stripe-latency", text, { allowZero: true });
  if (ms > 60_000) {
    throw new RangeError(
      `Cannot run the benchmark: --stripe-latency must be at most 60s (got "${text}")`,
    );
  }
  return ms;
}

function durationMs(name: string, text: string, options: { allowZero: boolean }): number {
  const ms = parseDuration(text);
  if (ms === undefined || (!options.allowZero && ms === 0)) {
    throw new RangeError(
      `Cannot run the benchmark: ${name} must be a duration like 500ms, 30s or 2m${
        options.allowZero ? "" : " above 0"
      } (got "${text}")`,
    );
  }
  return ms;
}
