import assert from "node:assert/strict";
import { z } from "zod";
import { ConfigError } from "../errors/mod.ts";
import {
  COMMON_VARIABLES,
  describeValue,
  duration,
  isSecretVariable,
  loadConfig,
  maskSecrets,
  parseDuration,
  text,
  urlOf,
} from "./mod.ts";
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
    OPS_HOST: "127.0.0.1",
  });
});

Deno.test("loadConfig() takes OPS_HOST as a hostname or an IP address", () => {
  for (const host of ["0.0.0.0", "10.1.2.3", "::", "::1", "fe80::1", "localhost", "ops.internal"]) {
    assert.equal(loadConfig(COMMON_VARIABLES, { OPS_HOST: host }).OPS_HOST, host);
  }
  for (const host of ["http://0.0.0.0", "0.0.0.0:9101", "[::1]", "1.2.3", "a b", "-ops", "ops_1"]) {
    assertConfigError(
      () => loadConfig(COMMON_VARIABLES, { OPS_HOST: host }),
      /^Invalid configuration: OPS_HOST must be a hostname or an IP address/,
    );
  }
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

Deno.test("maskSecrets() masks the password of a URL, parseable or not", () => {
  const cases: Array<[string, string]> = [
    ["postgres://app:s3cret@db:5432/x", "postgres://app:***@db:5432/x"],
    ["postgresql://app:s3cret@db:notaport/x", "postgresql://app:***@db:notaport/x"],
    ["redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"],
    ["rediss://default:s3cret@cache", "rediss://default:***@cache"],
    ["smtp://mailer:s3cret@mail.example:587", "smtp://mailer:***@mail.example:587"],
    ["mysql://root:s3cret@db/x", "mysql://root:***@db/x"],
    // Malformed: an unescaped @, a space or a slash in the password, or no scheme at all.
    ["postgres://app:s3c@ret@db:5432/x", "postgres://app:***@db:5432/x"],
    ["postgres://app:s3c ret@db/x", "postgres://app:***@db/x"],
    ["postgres://app:s3c/ret@db/x", "postgres://app:***@db/x"],
    ["app:s3cret@db:5432/x", "app:***@db:5432/x"],
    ["postgres//app:s3cret@db/x", "postgres//app:***@db/x"],
    // Secrets in parameters and Stripe keys, wherever they are.
    [
      "postgres://db/x?sslmode=require&password=s3cret",
      "postgres://db/x?sslmode=require&password=***",
    ],
    ["https://api.example/?api_key=s3cret#top", "https://api.example/?api_key=***#top"],
    ["https://sk_live_s3cret:@api.stripe.com", "https://sk_live_***:***@api.stripe.com"],
    ["rk_test_s3cret", "rk_test_***"],
  ];
  for (const [input, expected] of cases) {
    assert.equal(maskSecrets(input), expected, input);
    assert.equal(maskSecrets(input).includes("s3c"), false, input);
  }
});

Deno.test("maskSecrets() leaves values without secrets as they are", () => {
  for (
    const value of [
      "postgres://postgres@127.0.0.1:5432/sagas",
      "redis://127.0.0.1:6379",
      "k1:9092,k2:9093",
      "Orders <orders@sagas.example>",
      "http://127.0.0.1:12111",
      "30s",
      "not a url",
    ]
  ) {
    assert.equal(maskSecrets(value), value);
  }
});

Deno.test("isSecretVariable() recognises keys, secrets, passwords and tokens by name", () => {
  const secret = ["STRIPE_SECRET_KEY", "API_KEY", "SMTP_PASSWORD", "GITHUB_TOKEN", "DB_PASS"];
  const plain = ["DATABASE_URL", "REDIS_URL", "SMTP_URL", "KAFKA_BROKERS", "LOG_LEVEL", "KEYSPACE"];
  assert.deepEqual(secret.map(isSecretVariable), secret.map(() => true));
  assert.deepEqual(plain.map(isSecretVariable), plain.map(() => false));
});

Deno.test("describeValue() masks what it echoes and does not echo a secret variable", () => {
  assert.equal(
    describeValue("DATABASE_URL", "postgres://app:s3cret@db:x/y"),
    '(got "postgres://app:***@db:x/y")',
  );
  assert.equal(describeValue("STRIPE_SECRET_KEY", "sk_oops s3cret"), "(value not shown)");
  assert.equal(describeValue("LOG_LEVEL", "loud"), '(got "loud")');
});

const WITH_SECRETS = {
  ...COMMON_VARIABLES,
  SMTP_URL: urlOf(["smtp:", "smtps:"], "smtp://127.0.0.1:1025"),
  STRIPE_SECRET_KEY: text("sk_test_local").pipe(z.string().startsWith("sk_")),
};

const withPasswords: Array<[string, string, RegExp]> = [
  [
    "DATABASE_URL",
    "postgres://app:s3cret@db:notaport/x",
    /^Invalid configuration: DATABASE_URL must be a postgres: or postgresql:\/\/ URL \(got "postgres:\/\/app:\*\*\*@db:notaport\/x"\)$/,
  ],
  [
    "DATABASE_URL",
    "mysql://root:s3cret@db/x",
    /^Invalid configuration: DATABASE_URL must be .* \(got "mysql:\/\/root:\*\*\*@db\/x"\)$/,
  ],
  [
    "REDIS_URL",
    "redis://:s3c@ret@cache:port",
    /^Invalid configuration: REDIS_URL must be .* \(got "redis:\/\/:\*\*\*@cache:port"\)$/,
  ],
  [
    "SMTP_URL",
    "http://mailer:s3cret@mail",
    /^Invalid configuration: SMTP_URL must be .* \(got "http:\/\/mailer:\*\*\*@mail"\)$/,
  ],
  [
    "STRIPE_SECRET_KEY",
    "s3cret",
    /^Invalid configuration: STRIPE_SECRET_KEY .*\(value not shown\)$/,
  ],
];
for (const [name, value, pattern] of withPasswords) {
  Deno.test(`loadConfig() names ${name} and masks the password in "${value}"`, () => {
    assert.throws(() => loadConfig(WITH_SECRETS, { [name]: value }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, pattern);
      assert.equal(error.message.includes("s3c"), false, error.message);
      return true;
    });
  });
}

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
