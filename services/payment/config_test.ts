import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors/mod.ts";
import { loadPaymentConfig, stripeSettings } from "./config.ts";

function assertConfigError(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(() => loadPaymentConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.message.includes("\n"), false, "the message is one line");
    return true;
  });
}

Deno.test("loadPaymentConfig() defaults to port 9103, a 10 s timeout and the local test server", () => {
  const config = loadPaymentConfig({});
  assert.equal(config.PAYMENT_PORT, 9103);
  assert.equal(config.STRIPE_SECRET_KEY, undefined);
  assert.equal(config.STRIPE_API_BASE, undefined);
  assert.equal(config.STRIPE_TIMEOUT, 10_000);
  assert.deepEqual(stripeSettings(config), {
    apiKey: "sk_test_local",
    host: "127.0.0.1",
    port: 12111,
    protocol: "http",
    timeoutMs: 10_000,
    local: true,
  });
});

Deno.test("loadPaymentConfig() treats empty Stripe variables as unset", () => {
  const config = loadPaymentConfig({ STRIPE_SECRET_KEY: "", STRIPE_API_BASE: "" });
  assert.equal(stripeSettings(config).local, true);
});

Deno.test("stripeSettings() selects Stripe's own API for a real-looking key", () => {
  const key = "sk_test_51AbCdEfGhIjKlMnOpQrStUv";
  const config = loadPaymentConfig({ STRIPE_SECRET_KEY: key, STRIPE_TIMEOUT: "30s" });
  assert.deepEqual(stripeSettings(config), {
    apiKey: key,
    host: "api.stripe.com",
    port: 443,
    protocol: "https",
    timeoutMs: 30_000,
    local: false,
  });
});

Deno.test("stripeSettings() honours STRIPE_API_BASE with a key, and without one", () => {
  const withKey = loadPaymentConfig({
    STRIPE_SECRET_KEY: "rk_live_abc",
    STRIPE_API_BASE: "https://stripe-proxy.internal:8443",
  });
  assert.deepEqual(stripeSettings(withKey), {
    apiKey: "rk_live_abc",
    host: "stripe-proxy.internal",
    port: 8443,
    protocol: "https",
    timeoutMs: 10_000,
    local: false,
  });
  const local = stripeSettings(loadPaymentConfig({ STRIPE_API_BASE: "http://localhost" }));
  assert.deepEqual([local.apiKey, local.host, local.port, local.protocol], [
    "sk_test_local",
    "localhost",
    80,
    "http",
  ]);
});

const malformed: Array<[string, string, RegExp]> = [
  [
    "STRIPE_API_BASE",
    "127.0.0.1:12111",
    /^Invalid configuration: STRIPE_API_BASE must be an http:\/\/ or https:\/\/ URL with no path/,
  ],
  ["STRIPE_API_BASE", "ftp://stripe.example", /STRIPE_API_BASE must be an http/],
  ["STRIPE_API_BASE", "https://api.stripe.com/v1", /STRIPE_API_BASE .*\(got "https:/],
  ["PAYMENT_PORT", "70000", /^Invalid configuration: PAYMENT_PORT must be an integer from 0/],
  ["PAYMENT_PORT", "http", /PAYMENT_PORT must be an integer/],
  ["STRIPE_TIMEOUT", "forever", /^Invalid configuration: STRIPE_TIMEOUT must be a duration/],
  ["STRIPE_SECRET_KEY", "pk_test_publishable", /^Invalid configuration: STRIPE_SECRET_KEY must/],
];
for (const [name, value, pattern] of malformed) {
  Deno.test(`loadPaymentConfig() names ${name} when it is "${value}"`, () => {
    assertConfigError({ [name]: value }, pattern);
  });
}

Deno.test("loadPaymentConfig() never echoes a malformed secret key", () => {
  assert.throws(
    () => loadPaymentConfig({ STRIPE_SECRET_KEY: "sk_oops secret-value" }),
    (error: unknown) => error instanceof ConfigError && !error.message.includes("secret-value"),
  );
});

Deno.test("loadPaymentConfig() bounds the Stripe calls in flight: 128 by default, 1 to 256", () => {
  assert.equal(loadPaymentConfig({}).PAYMENT_CALL_CONCURRENCY, 128);
  assert.equal(loadPaymentConfig({ PAYMENT_CALL_CONCURRENCY: "16" }).PAYMENT_CALL_CONCURRENCY, 16);
  assertConfigError(
    { PAYMENT_CALL_CONCURRENCY: "0" },
    /^Invalid configuration: PAYMENT_CALL_CONCURRENCY /,
  );
  assertConfigError(
    { PAYMENT_CALL_CONCURRENCY: "lots" },
    /^Invalid configuration: PAYMENT_CALL_CONCURRENCY /,
  );
});

Deno.test("loadPaymentConfig() reads outcomes that are not final again after 1 s, doubling up to 1 min, within 10 ms to 1 h", () => {
  const config = loadPaymentConfig({});
  assert.deepEqual([config.PAYMENT_FOLLOW_INTERVAL, config.PAYMENT_FOLLOW_MAX_INTERVAL], [
    1_000,
    60_000,
  ]);
  const fast = loadPaymentConfig({
    PAYMENT_FOLLOW_INTERVAL: "200ms",
    PAYMENT_FOLLOW_MAX_INTERVAL: "2s",
  });
  assert.deepEqual([fast.PAYMENT_FOLLOW_INTERVAL, fast.PAYMENT_FOLLOW_MAX_INTERVAL], [200, 2_000]);
  assertConfigError(
    { PAYMENT_FOLLOW_INTERVAL: "1ms" },
    /^Invalid configuration: PAYMENT_FOLLOW_INTERVAL must be a duration from 10ms to 1h \(got "1ms"\)/,
  );
  assertConfigError(
    { PAYMENT_FOLLOW_MAX_INTERVAL: "2h" },
    /^Invalid configuration: PAYMENT_FOLLOW_MAX_INTERVAL must be a duration from 10ms to 1h/,
  );
  assertConfigError(
    { PAYMENT_FOLLOW_INTERVAL: "5s", PAYMENT_FOLLOW_MAX_INTERVAL: "2s" },
    /^Invalid configuration: PAYMENT_FOLLOW_MAX_INTERVAL must be at least PAYMENT_FOLLOW_INTERVAL/,
  );
});
