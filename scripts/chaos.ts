/**
 * `deno task chaos`: the system under faults. Places orders open-loop while it kills services,
 * stops the run's own broker and Redis, restarts PostgreSQL, makes Stripe fail, duplicates and
 * delays records and produces poison; lets everything settle; checks the invariants. Prints the
 * tables, then one JSON summary line (last); exits 1 on any violation.
 *
 *   deno task chaos --orders 3000 --rate 8 --seed 42 --faults all
 *
 * Flags: --orders N (default 300), --rate R orders per second (default 5), --seed S (default
 * random; the same seed replays the same orders and fault schedule), --faults kind,kind… or all
 * (kill, replica, broker, postgres, redis, stripe, duplicate, late, poison), --kills-per-service
 * N, --rounds N (injections of each other kind), --step-timeout 6s, --settle-timeout 180s,
 * --postgres restart|terminate, --stripe-latency 300ms (the Stripe test server's median answer
 * time, with a long tail; default 0), --replicas N (processes of every service, all in its
 * consumer group; a kill then stops one replica of a service while the others carry on;
 * default 1, the `replica` fault then adding a second orchestrator), --brokers 1|3 (3: a 3-node
 * cluster of the run's own, topics with 3 replicas and `min.insync.replicas` 2, and the cluster
 * faults broker-kill, controller-kill and broker-pause in place of broker; default 1).
 *
 * The broker, cluster and Redis it stops are its own (started for the run, wiped after). PostgreSQL is
 * the machine's: it is restarted in a window of a second or two and always brought back.
 */
import { parseArgs } from "node:util";
import {
  type BrokerCount,
  FAULT_KINDS,
  faultKindsFor,
  formatReport,
  parseFaultKinds,
  parseSeed,
  randomSeed,
  runChaos,
  summaryLine,
} from "../tools/chaos/mod.ts";
import { parseDuration } from "../lib/config/mod.ts";
import { errorMessage } from "../lib/errors/mod.ts";
import { MAX_REPLICAS } from "../testing/supervisor.ts";

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`--${name} must be a number above 0 (got "${text}")`);
  }
  return value;
}

function durationFlag(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new RangeError(`--${name} must be a duration like 6s (got "${text}")`);
  }
  return ms;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      orders: { type: "string" },
      rate: { type: "string" },
      seed: { type: "string" },
      faults: { type: "string" },
      "kills-per-service": { type: "string" },
      rounds: { type: "string" },
      "step-timeout": { type: "string" },
      "settle-timeout": { type: "string" },
      postgres: { type: "string" },
      "stripe-latency": { type: "string" },
      replicas: { type: "string" },
      brokers: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      `Usage: deno task chaos [--orders N] [--rate R] [--seed S] [--faults ${
        FAULT_KINDS.join(",")
      }|all]\n` +
        "  [--kills-per-service N] [--rounds N] [--step-timeout 6s] [--settle-timeout 180s]\n" +
        "  [--postgres restart|terminate] [--stripe-latency 0] [--replicas 1] [--brokers 1]\n\n" +
        "  --stripe-latency D  median answer time of the Stripe test server, e.g. 300ms, with a\n" +
        "                      long tail (p99 ≈ 3× the median), like Stripe's own API (default 0)\n" +
        "  --replicas N        processes of every service, each in its consumer group; kills\n" +
        "                      stop one replica of a service while the others carry on (1)\n" +
        "  --brokers 1|3       3: a 3-node cluster of the run's own (RF 3, min.insync.replicas 2),\n" +
        "                      broker-kill, controller-kill and broker-pause in place of broker (1)",
    );
    return 0;
  }
  const orders = positive("orders", values.orders, 300);
  if (!Number.isInteger(orders)) {
    throw new RangeError(`--orders must be an integer (got ${orders})`);
  }
  const postgresMode = values.postgres;
  if (postgresMode !== undefined && postgresMode !== "restart" && postgresMode !== "terminate") {
    throw new RangeError(`--postgres must be restart or terminate (got "${postgresMode}")`);
  }
  const stripeLatencyMs = durationFlag("stripe-latency", values["stripe-latency"], 0);
  if (stripeLatencyMs > 60_000) {
    throw new RangeError(
      `--stripe-latency must be at most 60s (got "${values["stripe-latency"]}")`,
    );
  }
  const replicas = positive("replicas", values.replicas, 1);
  if (!Number.isInteger(replicas) || replicas > MAX_REPLICAS) {
    throw new RangeError(
      `--replicas must be an integer from 1 to ${MAX_REPLICAS} (got "${values.replicas}")`,
    );
  }
  const brokers = Number(values.brokers ?? "1");
  if (brokers !== 1 && brokers !== 3) {
    throw new RangeError(`--brokers must be 1 or 3 (got "${values.brokers}")`);
  }
  const faults = parseFaultKinds(values.faults ?? "all");
  // `all` takes the kinds that fit the brokers; a kind named that does not fit is a mistake.
  const named = values.faults !== undefined && values.faults.trim() !== "all";
  const unfit = named ? faults.filter((kind) => faultKindsFor([kind], brokers).length === 0) : [];
  if (unfit.length > 0) {
    throw new RangeError(
      `--faults ${unfit.join(",")} cannot be injected with --brokers ${brokers}` +
        (brokers === 1 ? ": the cluster faults need --brokers 3" : ": use the cluster faults"),
    );
  }
  const seed = values.seed === undefined ? randomSeed() : parseSeed(values.seed);
  const optionalInteger = (name: string, text: string | undefined) =>
    text === undefined ? undefined : Math.round(positive(name, text, 1));
  const report = await runChaos({
    orders,
    ratePerSecond: positive("rate", values.rate, 5),
    seed,
    faults,
    killsPerService: optionalInteger("kills-per-service", values["kills-per-service"]),
    rounds: optionalInteger("rounds", values.rounds),
    stepTimeoutMs: durationFlag("step-timeout", values["step-timeout"], 6_000),
    settleTimeoutMs: durationFlag("settle-timeout", values["settle-timeout"], 180_000),
    postgresMode,
    stripeLatencyMs,
    replicas,
    brokers: brokers as BrokerCount,
    log: (line) => console.error(`chaos: ${line}`),
  });
  console.log(formatReport(report));
  console.log(summaryLine(report));
  return report.violations.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`Chaos run failed: ${errorMessage(error)}`);
    Deno.exit(2);
  }
}
