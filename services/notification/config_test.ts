import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors/mod.ts";
import { loadNotificationConfig } from "./config.ts";

function assertConfigError(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(() => loadNotificationConfig(env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.message.includes("\n"), false, "the message is one line");
    return true;
  });
}

Deno.test("loadNotificationConfig() applies the defaults when nothing is set", () => {
  const config = loadNotificationConfig({});
  assert.equal(config.NOTIFICATION_PORT, 9104);
  assert.equal(config.SMTP_URL, undefined);
  assert.equal(config.NOTIFICATION_FROM, "orders@sagas.example");
  assert.deepEqual(config.KAFKA_BROKERS, ["127.0.0.1:9092"]);
  assert.equal(config.DATABASE_URL, "postgres://postgres@127.0.0.1:5432/sagas");
});

Deno.test("loadNotificationConfig() reads set values", () => {
  const config = loadNotificationConfig({
    NOTIFICATION_PORT: "0",
    SMTP_URL: "smtps://user:secret@mail.example:465",
    NOTIFICATION_FROM: "Shop Orders <orders@shop.example>",
    LOG_LEVEL: "warn",
  });
  assert.equal(config.NOTIFICATION_PORT, 0);
  assert.equal(config.SMTP_URL, "smtps://user:secret@mail.example:465");
  assert.equal(config.NOTIFICATION_FROM, "Shop Orders <orders@shop.example>");
  assert.equal(config.LOG_LEVEL, "warn");
});

Deno.test("loadNotificationConfig() treats an empty SMTP_URL as unset", () => {
  assert.equal(loadNotificationConfig({ SMTP_URL: "" }).SMTP_URL, undefined);
  assert.equal(
    loadNotificationConfig({ SMTP_URL: "smtp://127.0.0.1:1025" }).SMTP_URL,
    "smtp://127.0.0.1:1025",
  );
});

const malformed: Array<[string, string, RegExp]> = [
  [
    "SMTP_URL",
    "http://mail.example",
    /^Invalid configuration: SMTP_URL must be a smtp: or smtps:\/\/ URL \(got "http:\/\/mail\.example"\)$/,
  ],
  ["SMTP_URL", "127.0.0.1:1025", /^Invalid configuration: SMTP_URL must be a smtp: or smtps:/],
  ["SMTP_URL", "not a url", /SMTP_URL must be a smtp: or smtps:/],
  [
    "NOTIFICATION_FROM",
    "orders",
    /^Invalid configuration: NOTIFICATION_FROM must be an e-mail address such as orders@sagas\.example \(got "orders"\)$/,
  ],
  ["NOTIFICATION_FROM", "Orders <orders>", /NOTIFICATION_FROM must be an e-mail address/],
  ["NOTIFICATION_FROM", "a@b@c.example", /NOTIFICATION_FROM must be an e-mail address/],
  [
    "NOTIFICATION_PORT",
    "70000",
    /^Invalid configuration: NOTIFICATION_PORT must be an integer from 0 to 65535/,
  ],
  ["NOTIFICATION_PORT", "http", /NOTIFICATION_PORT must be an integer/],
  ["DATABASE_URL", "mysql://x/y", /^Invalid configuration: DATABASE_URL must be a postgres:/],
];
for (const [name, value, pattern] of malformed) {
  Deno.test(`loadNotificationConfig() names ${name} when it is "${value}"`, () => {
    assertConfigError({ [name]: value }, pattern);
  });
}

Deno.test("loadNotificationConfig() bounds the deliveries in flight: 16 by default, 1 to 256", () => {
  assert.equal(loadNotificationConfig({}).NOTIFICATION_CALL_CONCURRENCY, 16);
  assert.equal(
    loadNotificationConfig({ NOTIFICATION_CALL_CONCURRENCY: "2" }).NOTIFICATION_CALL_CONCURRENCY,
    2,
  );
  assertConfigError(
    { NOTIFICATION_CALL_CONCURRENCY: "257" },
    /^Invalid configuration: NOTIFICATION_CALL_CONCURRENCY /,
  );
});
