import assert from "node:assert/strict";
import { ConfigError } from "../errors/mod.ts";
import { COMMON_VARIABLES, duration, loadConfig, parseDuration, text } from "./mod.ts";
import { parseDotEnv } from "./dotenv.ts";

function assertConfigError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.message.includes("\n"), false, "the message is one line");
    return true;
  });
}

Deno.test("loadConfig() applies the local defaults when nothing is set", () => {
  const config = loadConfig(COMMON_VARIABLES, {});
  assert.deepEqual(config, {
    KAFKA_BROKERS: ["127.0.0.1:9092"],
    KAFKA_NAMESPACE: "",
    KAFKA_TOPIC_PARTITIONS: 6,
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/sagas",
    REDIS_URL: "redis://127.0.0.1:6379",
    LOG_LEVEL: "info",
  });
});

Deno.test("loadConfig() converts set values", () => {
  const config = loadConfig(COMMON_VARIABLES, {
    KAFKA_BROKERS: "k1:9092, k2:9093",
    KAFKA_TOPIC_PARTITIONS: "12",
    LOG_LEVEL: "debug",
  });
  assert.deepEqual(config.KAFKA_BROKERS, ["k1:9092", "k2:9093"]);
  assert.equal(config.KAFKA_TOPIC_PARTITIONS, 12);
  assert.equal(config.LOG_LEVEL, "debug");
});

const malformed: Array<[string, string, RegExp]> = [
  [
    "KAFKA_NAMESPACE",
    "a.b",
    /^Invalid configuration: KAFKA_NAMESPACE must be letters, digits, - or _ \(got "a\.b"\)/,
  ],
  ["KAFKA_BROKERS", "kafka", /^Invalid configuration: KAFKA_BROKERS must be host:port/],
  [
    "KAFKA_TOPIC_PARTITIONS",
    "0",
    /^Invalid configuration: KAFKA_TOPIC_PARTITIONS must be an integer from 1/,
  ],
  ["KAFKA_TOPIC_PARTITIONS", "six", /KAFKA_TOPIC_PARTITIONS must be an integer/],
  [
    "DATABASE_URL",
    "mysql://x/y",
    /^Invalid configuration: DATABASE_URL must be a postgres: or postgresql:\/\/ URL/,
  ],
  [
    "REDIS_URL",
    "not a url",
    /^Invalid configuration: REDIS_URL must be a redis: or rediss:\/\/ URL/,
  ],
  [
    "LOG_LEVEL",
    "loud",
    /^Invalid configuration: LOG_LEVEL must be one of debug, info, warn, error \(got "loud"\)/,
  ],
];
for (const [name, value, pattern] of malformed) {
  Deno.test(`loadConfig() names ${name} when it is "${value}"`, () => {
    assertConfigError(() => loadConfig(COMMON_VARIABLES, { [name]: value }), pattern);
  });
}

Deno.test("loadConfig() reports a required variable without default as not set", () => {
  const variables = { STRIPE_SECRET_KEY: text() };
  assertConfigError(
    () => loadConfig(variables, {}),
    /^Invalid configuration: STRIPE_SECRET_KEY is required but not set$/,
  );
  assertConfigError(
    () => loadConfig(variables, { STRIPE_SECRET_KEY: "" }),
    /STRIPE_SECRET_KEY is required but not set/,
  );
});

Deno.test("parseDuration() reads ms, s, m, h and bare milliseconds", () => {
  assert.deepEqual(
    ["250ms", "30s", "1.5s", "2m", "1h", "40", "", "3 days", "-1s"].map(parseDuration),
    [250, 30_000, 1_500, 120_000, 3_600_000, 40, undefined, undefined, undefined],
  );
});

Deno.test("duration() names the variable when the value is not a duration", () => {
  assertConfigError(
    () => loadConfig({ STEP_TIMEOUT: duration("30s") }, { STEP_TIMEOUT: "soon" }),
    /STEP_TIMEOUT must be a duration like 500ms, 30s or 2m \(got "soon"\)/,
  );
});

Deno.test("parseDotEnv() reads assignments, comments, quotes and export prefixes", () => {
  const parsed = parseDotEnv([
    "# comment",
    "",
    "KAFKA_BROKERS=127.0.0.1:9092",
    "export LOG_LEVEL=debug # trailing comment",
    'GREETING="hello # not a comment"',
    "SINGLE='a b'",
    "EMPTY=",
  ].join("\n"));
  assert.deepEqual(parsed, {
    KAFKA_BROKERS: "127.0.0.1:9092",
    LOG_LEVEL: "debug",
    GREETING: "hello # not a comment",
    SINGLE: "a b",
    EMPTY: "",
  });
});

Deno.test("parseDotEnv() rejects a line that is not an assignment, naming the line", () => {
  assert.throws(() => parseDotEnv("A=1\nthis is wrong"), /Cannot parse \.env line 2/);
});
