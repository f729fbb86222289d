/**
 * Bad configuration stops each service at start, before it connects to anything: exit code 1
 * and one line on stderr naming the variable, never echoing a password or key it holds.
 */
import assert from "node:assert/strict";

const cases: Array<[service: string, variable: string, value: string]> = [
  ["orchestrator", "KAFKA_BROKERS", "kafka-without-port"],
  ["orchestrator", "DATABASE_URL", "mysql://localhost/sagas"],
  ["orchestrator", "REDIS_URL", "localhost:6379"],
  ["orchestrator", "STEP_TIMEOUT", "soon"],
  ["orchestrator", "MAX_COMPENSATION_RETRIES", "-1"],
  ["orchestrator", "COMPENSATION_RETRY_JITTER", "2"],
  ["orchestrator", "ORCHESTRATOR_PORT", "http"],
  ["inventory", "KAFKA_TOPIC_PARTITIONS", "0"],
  ["inventory", "INVENTORY_PORT", "70000"],
  ["payment", "STRIPE_API_BASE", "ftp://stripe"],
  ["payment", "STRIPE_TIMEOUT", "never"],
  ["notification", "SMTP_URL", "http://mail"],
  ["notification", "LOG_LEVEL", "chatty"],
];

/** The secret in each malformed value below, which must appear nowhere in the output. */
const SECRET = "Sup3rS3cret";

const withSecrets: Array<[service: string, variable: string, value: string]> = [
  ["orchestrator", "DATABASE_URL", `postgres://app:${SECRET}@db:notaport/sagas`],
  ["orchestrator", "REDIS_URL", `redis://:${SECRET}@cache:port`],
  ["inventory", "DATABASE_URL", `mysql://root:${SECRET}@db/sagas`],
  ["inventory", "DATABASE_URL", `postgres://app:${SECRET}@db:5432:5433/sagas`],
  ["payment", "STRIPE_SECRET_KEY", `sk_oops ${SECRET}`],
  ["payment", "STRIPE_API_BASE", `https://user:${SECRET}@api.stripe.com`],
  ["notification", "SMTP_URL", `http://mailer:${SECRET}@mail.example`],
  ["notification", "REDIS_URL", `redis://default:${SECRET}@cache:6379 /0`],
];

async function start(service: string, env: Record<string, string>) {
  const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `services/${service}/main.ts`],
    cwd: new URL("..", import.meta.url),
    env: { ...env, NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, stderr: decoder.decode(stderr), stdout: decoder.decode(stdout) };
}

for (const [service, variable, value] of [...cases, ...withSecrets]) {
  Deno.test(`${service} exits 1 with one line naming ${variable} when it is "${value}"`, async () => {
    const { code, stderr, stdout } = await start(service, { [variable]: value });
    const lines = stderr.trim().split("\n");
    assert.equal(code, 1);
    assert.equal(lines.length, 1, `stderr: ${lines.join(" | ")}`);
    assert.match(lines[0]!, new RegExp(`^Invalid configuration: ${variable} `));
    assert.equal(stdout, "", "nothing started, nothing logged");
  });
}

for (const [service, variable, value] of withSecrets) {
  Deno.test(`${service} names ${variable} but never prints the password in "${value}"`, async () => {
    const { code, stderr, stdout } = await start(service, { [variable]: value });
    assert.equal(code, 1);
    assert.ok(stderr.includes(variable), `stderr: ${stderr}`);
    assert.equal(stderr.includes(SECRET), false, `stderr: ${stderr}`);
    assert.equal(stdout.includes(SECRET), false, `stdout: ${stdout}`);
  });
}
