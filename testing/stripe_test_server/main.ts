/**
 * Runs the Stripe-compatible test server on its own (`deno task stripe:test-server`) so the
 * payment service and the demo can point the real `stripe` SDK at it.
 *
 * Configuration, from the environment or `.env`: `STRIPE_TEST_SERVER_PORT` (default 12111, `0` =
 * any free port), `STRIPE_TEST_LATENCY` (the median delay of every `/v1` answer, a duration such
 * as `300ms`; default 0, a long-tailed spread with p99 ≈ 3× the median), `STRIPE_TEST_ASYNC_DELAY`
 * (how long `processing` payments and `pending` refunds wait for their outcome; default 2s) and
 * `LOG_LEVEL`. Listens on 127.0.0.1 only. Everything is kept in memory: a
 * restart forgets every PaymentIntent, Charge, Refund, idempotency key and fault.
 *
 * @module
 */
import { duration, integer, loadConfig, logLevel, withDotEnv } from "../../lib/config/mod.ts";
import { ConfigError } from "../../lib/errors/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import { serveStripeTestServer } from "./serve.ts";

/** Port of the standalone test server when `STRIPE_TEST_SERVER_PORT` is unset. */
export const DEFAULT_STRIPE_TEST_SERVER_PORT = 12111;

/** Starts the server and serves until SIGINT or SIGTERM; a second signal exits at once. */
export async function main(): Promise<void> {
  const config = loadConfig({
    STRIPE_TEST_SERVER_PORT: integer({
      min: 0,
      max: 65_535,
      fallback: DEFAULT_STRIPE_TEST_SERVER_PORT,
    }),
    STRIPE_TEST_LATENCY: duration("0"),
    STRIPE_TEST_ASYNC_DELAY: duration("2s"),
    LOG_LEVEL: logLevel("info"),
  }, withDotEnv(Deno.env.toObject()));
  if (config.STRIPE_TEST_LATENCY > 60_000) {
    throw new ConfigError(
      `Invalid configuration: STRIPE_TEST_LATENCY must be at most 60s (got ${config.STRIPE_TEST_LATENCY} ms)`,
    );
  }
  if (config.STRIPE_TEST_ASYNC_DELAY > 3_600_000) {
    throw new ConfigError(
      `Invalid configuration: STRIPE_TEST_ASYNC_DELAY must be at most 1h (got ${config.STRIPE_TEST_ASYNC_DELAY} ms)`,
    );
  }
  const log = createLogger("stripe-test-server", { level: config.LOG_LEVEL });
  const served = serveStripeTestServer({
    port: config.STRIPE_TEST_SERVER_PORT,
    latencyMs: config.STRIPE_TEST_LATENCY,
    asyncDelayMs: config.STRIPE_TEST_ASYNC_DELAY,
  });
  log.info("Stripe test server listening", {
    url: served.url,
    latencyMedianMs: config.STRIPE_TEST_LATENCY,
    asyncDelayMs: config.STRIPE_TEST_ASYNC_DELAY,
    sdk: { host: served.hostname, port: served.port, protocol: "http" },
    controls: `${served.url}/_test/`,
  });
  try {
    await shutdownSignal();
    log.info("Stripe test server stopping; its in-memory records are discarded");
  } finally {
    await served.close();
  }
}

function shutdownSignal(): Promise<Deno.Signal> {
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  return new Promise((resolve) => {
    let received = false;
    function onSignal(signal: Deno.Signal): void {
      if (received) Deno.exit(130);
      received = true;
      resolve(signal);
    }
    for (const signal of signals) Deno.addSignalListener(signal, () => onSignal(signal));
  });
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}
