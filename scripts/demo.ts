/**
 * `deno task demo`: runs the whole system end to end on the local defaults and shows one order
 * of each kind: a success, a declined card, an undeliverable email, an out-of-stock item, and a
 * refund that fails after a failed notification. Prints outcome and timeline per saga, checks
 * the invariants, stops everything, and exits 1 if anything is not as expected.
 *
 *   deno task demo [--stripe-latency 300ms]
 *
 * `--stripe-latency` is the Stripe test server's median answer time (a long tail, p99 ≈ 3× the
 * median, like Stripe's own API; default 0: at once).
 */
import { parseArgs } from "node:util";
import { COMMON_VARIABLES, loadConfig, parseDuration } from "../lib/config/mod.ts";
import { closeDb, connectDb } from "../lib/db/mod.ts";
import { formatTable } from "../lib/format/table.ts";
import { checkInvariants } from "../testing/invariants/mod.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { connectProducer } from "../lib/kafka/producer.ts";
import { readHistory } from "../lib/orchestrator_store/mod.ts";
import { newOrder, placeOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../testing/scenarios.ts";
import { prepareInfra, projectEnv } from "./prepare.ts";
import { serviceSpecs, startStack } from "../testing/supervisor.ts";

const USAGE = `Usage: deno task demo [--stripe-latency D]

Runs the whole system end to end and shows one order of each kind, then checks the invariants.

Options:
  --stripe-latency D  median answer time of the Stripe test server, e.g. 300ms, with a long
                      tail (p99 ≈ 3× the median), like Stripe's own API (0)
  -h, --help          show this text`;

/** The demo's flags; throws a `TypeError` or `RangeError` naming the bad one. */
function parseDemoArgs(args: string[]): { stripeLatencyMs: number; help: boolean } {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      "stripe-latency": { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const text = values["stripe-latency"];
  const ms = parseDuration(text);
  if (ms === undefined || ms > 60_000) {
    throw new RangeError(
      `--stripe-latency must be a duration like 300ms, at most 60s (got "${text}")`,
    );
  }
  return { stripeLatencyMs: ms, help: values.help };
}

async function main(args: string[]): Promise<number> {
  const flags = parseDemoArgs(args);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const env = { ...projectEnv(), STRIPE_TEST_LATENCY: `${flags.stripeLatencyMs}ms` };
  const config = loadConfig(COMMON_VARIABLES, env);
  await prepareInfra(env);
  const logDir = await Deno.makeTempDir({ prefix: "sagas-demo-logs-" });
  console.log(
    `Starting the services (logs in ${logDir}; Stripe test server latency ${flags.stripeLatencyMs} ms median)…`,
  );
  const stack = await startStack(serviceSpecs(env), { env, logDir });
  const sql = connectDb(config.DATABASE_URL, { max: 2, applicationName: "demo" });
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: "demo",
    namespace: config.KAFKA_NAMESPACE,
  });
  const producer = await connectProducer(kafka);
  try {
    const orders = DEMO_SCENARIOS.map((scenario) => ({
      scenario,
      order: newOrder(scenario.request),
    }));
    for (const { order } of orders) await placeOrder(producer, order);
    console.log(`Placed ${orders.length} orders; waiting for their sagas…\n`);
    const rows = [];
    let failures = 0;
    for (const { scenario, order } of orders) {
      const saga = await waitForFinalSaga(sql, order.orderId, { timeoutMs: 60_000 });
      const history = await readHistory(sql, saga.sagaId);
      const ok = saga.status === scenario.expected;
      if (!ok) failures++;
      rows.push([
        scenario.name,
        scenario.expected,
        { text: saga.status, colour: ok ? 32 : 31 },
        `${saga.updatedAt.getTime() - saga.createdAt.getTime()} ms`,
        history.filter((h) => h.outcome === "applied").map((h) => h.eventType).join(" → "),
      ]);
    }
    const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
    console.log(
      formatTable(["SCENARIO", "EXPECTED", "OUTCOME", "TIME", "TIMELINE"], rows, { colour }),
    );
    const ledger = await fetchLedger(env);
    const report = await checkInvariants(sql, ledger);
    console.log(`\nInvariants: ${report.violations.length} violation(s)`);
    for (const violation of report.violations) console.log(`  ✗ ${violation}`);
    failures += report.violations.length;
    console.log(failures === 0 ? "\nDemo passed." : `\nDemo FAILED: ${failures} problem(s).`);
    return failures === 0 ? 0 : 1;
  } finally {
    await producer.disconnect();
    await closeDb(sql);
    await stack.stop();
  }
}

async function fetchLedger(env: Record<string, string>) {
  if (env.STRIPE_SECRET_KEY) return null; // real Stripe: no test ledger to read
  const port = env.STRIPE_TEST_SERVER_PORT ?? "12111";
  const response = await fetch(`http://127.0.0.1:${port}/_test/ledger`);
  const ledger = await response.json() as {
    orders: Record<string, { chargedCents: number; refundedCents: number; charges: number }>;
  };
  return ledger.orders;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`Demo failed: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
}
