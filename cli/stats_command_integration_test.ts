import assert from "node:assert/strict";
import { withTestDatabase } from "../testing/db.ts";
import { testInfra } from "../testing/infra.ts";
import { testNamespace } from "../testing/kafka.ts";
import type { Io } from "./output.ts";
import { runSagactl } from "./program.ts";
import type { StatsJson } from "./stats_command.ts";

/** Runs sagactl in-process against `databaseUrl`; resolves with its exit code and stdout. */
async function sagactl(args: string[], databaseUrl: string) {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  let stdout = "";
  const io: Io = {
    env: {
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafkaBrokers.join(","),
      KAFKA_NAMESPACE: testNamespace("stats"),
      NO_COLOR: "1",
    },
    stdout: (text) => (stdout += text),
    stderr: () => {},
    stdoutIsTerminal: false,
    stderrIsTerminal: false,
    stdinIsTerminal: false,
    confirm: () => Promise.resolve(false),
  };
  const code = await runSagactl(args, io);
  return { code, stdout };
}

Deno.test("sagactl stats counts set-aside outbox rows apart from the unpublished ones", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await sql`insert into payment.outbox (topic, key, value, set_aside_at, set_aside_reason)
      values ('payment.replies', 'k', 'refused', now(), 'Kafka refused the record for good'),
        ('payment.replies', 'k', 'refused too', now(), 'Kafka refused the record for good'),
        ('payment.replies', 'k', 'pending', null, null)`;
    await sql`insert into inventory.outbox (topic, key, value, published_at)
      values ('inventory.replies', 'k', 'published', now())`;
    const json = await sagactl(["stats", "--json"], url);
    assert.equal(json.code, 0);
    const stats: StatsJson = JSON.parse(json.stdout);
    assert.deepEqual(
      stats.outbox.map(({ service, unpublished, setAside }) => ({
        service,
        unpublished,
        setAside,
      })),
      [
        { service: "orchestrator", unpublished: 0, setAside: 0 },
        { service: "inventory", unpublished: 0, setAside: 0 },
        { service: "payment", unpublished: 1, setAside: 2 },
        { service: "notification", unpublished: 0, setAside: 0 },
      ],
    );
    const human = await sagactl(["stats"], url);
    assert.equal(human.code, 0);
    assert.match(human.stdout, /^OUTBOX\s+UNPUBLISHED\s+OLDEST\s+SET ASIDE$/m);
    assert.match(human.stdout, /^payment\s+1\s+\S+\s+2$/m);
    assert.match(human.stdout, /^inventory\s+0\s+\S+\s+0$/m);
    assert.match(human.stdout, /OUTBOX_RECORD_REFUSED/);
  });
});
