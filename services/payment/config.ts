/**
 * The payment service's configuration, and where its Stripe client points (DESIGN §7): without
 * `STRIPE_SECRET_KEY` a local test key and the local Stripe-compatible test server
 * (`deno task stripe:test-server`); with a key, Stripe's own API unless `STRIPE_API_BASE` says
 * otherwise.
 */
import { z } from "zod";
import { ConfigError } from "../../lib/errors/mod.ts";
import {
  COMMON_VARIABLES,
  duration,
  integer,
  loadConfig,
  partitionConcurrency,
} from "../../lib/config/mod.ts";
import { callConcurrency } from "../../lib/participant/limit.ts";
import { PAYMENT } from "../../lib/topology/mod.ts";

/** Where the local Stripe-compatible test server listens by default. */
export const LOCAL_STRIPE_API_BASE = "http://127.0.0.1:12111";

/** The API key used with the local test server (it accepts any `sk_test_…`). */
export const LOCAL_STRIPE_SECRET_KEY = "sk_test_local";

/** Stripe's own API. */
export const HOSTED_STRIPE_API_BASE = "https://api.stripe.com";

/** Configuration of the payment service. */
export const PAYMENT_VARIABLES = {
  ...COMMON_VARIABLES,
  PAYMENT_PORT: integer({ min: 0, max: 65_535, fallback: PAYMENT.opsPort }),
  /** Partitions handled at the same time: Stripe calls of different orders overlap. */
  PAYMENT_CONCURRENCY: partitionConcurrency(6),
  /**
   * Stripe calls in flight at once, all partitions together (no transaction is open meanwhile).
   * A chunk's calls go out together, the partitions' chunks at about the same time (kafkajs
   * fetches them together), and a chunk ends with its slowest call: calls in flight ≈ rate × a
   * chunk's cycle (≈ 1 s at Stripe's 300 ms median), not rate × latency. At 100 charges/s, 64
   * ran in 2–3 waves a cycle; 128 carry it in one (BENCHMARKS.md, runs of 2026-12-01).
   */
  PAYMENT_CALL_CONCURRENCY: callConcurrency(128),
  STRIPE_SECRET_KEY: optional(
    z.string().regex(
      /^(sk|rk)_(test|live)_\S+$/,
      "must be a Stripe secret key such as sk_test_…",
    ),
  ),
  STRIPE_API_BASE: optional(
    z.string().superRefine((text, ctx) => {
      if (!isApiBase(text)) {
        ctx.addIssue({
          code: "custom",
          message: `must be an http:// or https:// URL with no path, e.g. ${LOCAL_STRIPE_API_BASE}`,
        });
      }
    }),
  ),
  STRIPE_TIMEOUT: duration("10s"),
  /**
   * How soon an outcome that is not final (a PaymentIntent `processing`, a refund `pending`) is
   * read again the first time; each read that finds it still moving doubles the wait.
   */
  PAYMENT_FOLLOW_INTERVAL: followDuration("1s"),
  /** The longest wait between two reads of an outcome that is not final. */
  PAYMENT_FOLLOW_MAX_INTERVAL: followDuration("1m"),
};

/** A wait of the follower: from 10 ms to 1 h. */
function followDuration(fallback: string) {
  return duration(fallback).refine((ms) => ms >= 10 && ms <= 3_600_000, {
    message: "must be a duration from 10ms to 1h",
  });
}

/** The validated configuration. */
export type PaymentConfig = ReturnType<typeof loadPaymentConfig>;

/** Validates `env`; throws `ConfigError` naming the first bad variable. */
export function loadPaymentConfig(env: Record<string, string | undefined>) {
  const config = loadConfig(PAYMENT_VARIABLES, env);
  if (config.PAYMENT_FOLLOW_MAX_INTERVAL < config.PAYMENT_FOLLOW_INTERVAL) {
    throw new ConfigError(
      `Invalid configuration: PAYMENT_FOLLOW_MAX_INTERVAL must be at least PAYMENT_FOLLOW_INTERVAL (got ${config.PAYMENT_FOLLOW_MAX_INTERVAL} ms, less than ${config.PAYMENT_FOLLOW_INTERVAL} ms)`,
    );
  }
  return config;
}

/** How to reach Stripe: what the SDK's constructor needs. */
export interface StripeSettings {
  apiKey: string;
  host: string;
  port: number;
  protocol: "http" | "https";
  /** Per-request timeout of the SDK. */
  timeoutMs: number;
  /** True when talking to the local test server with the local key. */
  local: boolean;
}

/** Resolves the Stripe endpoint and key from the configuration. */
export function stripeSettings(
  config: Pick<PaymentConfig, "STRIPE_SECRET_KEY" | "STRIPE_API_BASE" | "STRIPE_TIMEOUT">,
): StripeSettings {
  const local = config.STRIPE_SECRET_KEY === undefined;
  const base = new URL(
    config.STRIPE_API_BASE ?? (local ? LOCAL_STRIPE_API_BASE : HOSTED_STRIPE_API_BASE),
  );
  const protocol = base.protocol === "http:" ? "http" : "https";
  return {
    apiKey: config.STRIPE_SECRET_KEY ?? LOCAL_STRIPE_SECRET_KEY,
    host: base.hostname.replace(/^\[|\]$/g, ""),
    port: base.port === "" ? (protocol === "http" ? 80 : 443) : Number(base.port),
    protocol,
    timeoutMs: config.STRIPE_TIMEOUT,
    local,
  };
}

function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === "" ? undefined : value), schema.optional());
}

function isApiBase(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const url = new URL(text);
  return (url.protocol === "http:" || url.protocol === "https:") && url.pathname === "/" &&
    url.search === "" && url.hash === "" && url.username === "" && url.password === "";
}
