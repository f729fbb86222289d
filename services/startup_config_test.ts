/**
 * Bad configuration stops each service at start, before it connects to anything: exit code 1
 * and one line on stderr naming the variable.
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

for (const [service, variable, value] of cases) {
  Deno.test(`${service} exits 1 with one line naming ${variable} when it is "${value}"`, async () => {
    const { code, stderr, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `services/${service}/main.ts`],
      cwd: new URL("..", import.meta.url),
      env: { [variable]: value, NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const lines = new TextDecoder().decode(stderr).trim().split("\n");
    assert.equal(code, 1);
    assert.equal(lines.length, 1, `stderr: ${lines.join(" | ")}`);
    assert.match(lines[0]!, new RegExp(`^Invalid configuration: ${variable} `));
    assert.equal(new TextDecoder().decode(stdout), "", "nothing started, nothing logged");
  });
}
