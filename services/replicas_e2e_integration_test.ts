/**
 * End to end with two replicas of every service (`withTestStack` with `replicas: 2`): each
 * consumer group has two members, every replica handles records, orders of every scenario end in
 * their expected status, the invariants hold, and `sagactl` works against the replicated stack.
 */
import assert from "node:assert/strict";
import { waitFor } from "../lib/async/mod.ts";
import { assertInvariantsHold } from "../testing/invariants.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { newOrder, placeOrder, waitForFinalSaga } from "../lib/orders/mod.ts";
import { DEMO_SCENARIOS } from "../testing/scenarios.ts";
import { runSagactl } from "../testing/sagactl.ts";
import { type TestStack, withTestStack } from "../testing/stack.ts";
import { SERVICES } from "../lib/topology/mod.ts";

const FAST_POLICY = {
  COMPENSATION_RETRY_INITIAL: "200ms",
  SWEEP_INTERVAL: "100ms",
  MAX_COMPENSATION_RETRIES: "2",
  STEP_TIMEOUT: "45s",
};
const GROUPS = SERVICES.map((service) => service.group);
const ORDERS_PER_SCENARIO = 6;

/** The members of each service's group, once every group is stable with `members` of them. */
async function stableGroups(t: TestStack, members: number) {
  const kafka = createKafka({
    brokers: t.env.KAFKA_BROKERS!.split(","),
    clientId: "replicas-test",
    namespace: t.env.KAFKA_NAMESPACE,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    let described: Awaited<ReturnType<typeof admin.describeGroups>>["groups"] = [];
    await waitFor(async () => {
      ({ groups: described } = await admin.describeGroups(
        GROUPS.map((group) => inNamespace(kafka, group)),
      ));
      return described.every((group) =>
        group.state === "Stable" && group.members.length === members
      );
    }, { timeoutMs: 60_000, intervalMs: 250, description: `every group stable with ${members}` });
    return new Map(described.map((group) => [group.groupId, group.members.length]));
  } finally {
    await admin.disconnect();
  }
}

/** Records a process consumed, from its `/metrics` (`kafka_messages_consumed_total`, summed). */
async function recordsConsumed(readyUrl: string): Promise<number> {
  const response = await fetch(new URL("/metrics", readyUrl));
  const text = await response.text();
  return text.split("\n")
    .filter((line) => line.startsWith("kafka_messages_consumed_total{"))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

Deno.test({
  name: "two replicas of every service share the work and every saga ends as it must",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withTestStack(FAST_POLICY, async (t) => {
      assert.equal(t.replicas, 2);
      const members = await stableGroups(t, 2);
      assert.deepEqual([...members.values()], [2, 2, 2, 2], JSON.stringify([...members]));

      const placed = DEMO_SCENARIOS.flatMap((scenario) =>
        Array.from({ length: ORDERS_PER_SCENARIO }, () => ({
          scenario,
          order: newOrder(scenario.request),
        }))
      );
      for (const { order } of placed) await placeOrder(t.producer, order);
      for (const { scenario, order } of placed) {
        const saga = await waitForFinalSaga(t.sql, order.orderId, { timeoutMs: 60_000 });
        assert.equal(saga.status, scenario.expected, `${scenario.name}: ${saga.failureReason}`);
      }
      // sagactl against the replicated stack: the status it waits on comes from either replica.
      const created = await runSagactl(t.env, [
        "order",
        "create",
        "--wait",
        "--timeout",
        "60s",
        "--json",
      ]);
      assert.equal(created.code, 0, created.stderr + created.stdout);
      assert.equal(JSON.parse(created.stdout).saga.status, "COMPLETED");
      await assertInvariantsHold(t);

      const services = t.specs.filter((spec) => spec.name !== "stripe");
      assert.equal(services.length, 8);
      const consumed = await Promise.all(services.map((spec) => recordsConsumed(spec.readyUrl)));
      const byName = Object.fromEntries(services.map((spec, i) => [spec.name, consumed[i]!]));
      for (const [name, records] of Object.entries(byName)) {
        assert.ok(records > 0, `${name} handled no record: ${JSON.stringify(byName)}`);
      }
      // Each replica writes a log of its own.
      const log = await Deno.readTextFile(`${t.logDir}/payment-2.log`);
      assert.match(log, /"Service running"/);
    }, { replicas: 2 });
  },
});
