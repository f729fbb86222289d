/**
 * The system on a 3-node KRaft cluster of the test's own (DESIGN §9): `infra:up --brokers 3`
 * against it, topics with 3 replicas and `min.insync.replicas` 2 (asked of the admin API), and a
 * few hundred orders placed while the broker leading the orders partitions is killed with
 * SIGKILL and restarted: every saga ends in its scenario's status and the invariants hold. Then
 * the active controller is paused (SIGSTOP) past the session timeout: fenced, replaced, back.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import kafkajs from "kafkajs";
import type { Admin } from "kafkajs";
import { waitFor } from "../lib/async/mod.ts";
import { type PrivateCluster, startPrivateCluster } from "../tools/chaos/infra.ts";
import { planOrders, runOrderGenerator } from "../tools/chaos/orders.ts";
import { createPrng } from "../testing/prng.ts";
import { assertInvariantsHold } from "../testing/invariants.ts";
import { createKafka } from "../lib/kafka/client.ts";
import { bindNamespace, inNamespace, namespaceOf } from "../lib/kafka/namespace.ts";
import { ALL_TOPICS, TOPICS } from "../lib/messages/topics.ts";
import { FINAL_STATUSES, type SagaStatus } from "../lib/saga/mod.ts";
import { testInfra } from "../testing/infra.ts";
import { withTestStack } from "../testing/stack.ts";

const INFRA = fileURLToPath(new URL("./infra.ts", import.meta.url));
const SEED = 14;
const ORDERS = 200;
const RATE_PER_SECOND = 20;
/**
 * The node is killed once this many orders were placed, and restarted once its partitions have
 * new leaders (the controller fences it after `broker.session.timeout.ms`, 9 s): the orders
 * keep coming all along.
 */
const KILL_AFTER_ORDERS = 10;

/** Replicas of every partition and the `min.insync.replicas` of each topic, by topic. */
async function replication(admin: Admin, topics: string[]) {
  const { topics: described } = await admin.fetchTopicMetadata({ topics });
  const { resources } = await admin.describeConfigs({
    resources: topics.map((name) => ({
      type: kafkajs.ConfigResourceTypes.TOPIC,
      name,
      configNames: ["min.insync.replicas"],
    })),
    includeSynonyms: false,
  });
  return Object.fromEntries(topics.map((name) => {
    const topic = described.find((t) => t.name === name)!;
    const minIsr = resources.find((r) => r.resourceName === name)?.configEntries[0]?.configValue;
    return [name, {
      replicas: [...new Set(topic.partitions.map((p) => p.replicas.length))],
      minInsyncReplicas: minIsr,
    }];
  }));
}

function replicated(topics: string[]) {
  return Object.fromEntries(
    topics.map((name) => [name, { replicas: [3], minInsyncReplicas: "2" }]),
  );
}

/** The leader of each partition of `topic`. */
async function leaders(admin: Admin, topic: string): Promise<Map<number, number>> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return new Map(topics[0]!.partitions.map((p) => [p.partitionId, p.leader]));
}

/**
 * The ids of the brokers the cluster lists (fenced ones are left out), asked of `bootstrap`
 * with short timeouts, or undefined when it does not answer: a paused node accepts connections
 * and never answers, and the default client would wait out its 30 s request timeout on it.
 */
async function liveBrokers(bootstrap: string[]): Promise<number[] | undefined> {
  const client = new kafkajs.Kafka({
    brokers: bootstrap,
    clientId: "cluster-test-probe",
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  }).admin();
  try {
    await client.connect();
    const { brokers } = await client.describeCluster();
    return brokers.map((broker) => broker.nodeId).sort();
  } catch {
    return undefined;
  } finally {
    await client.disconnect().catch(() => {});
  }
}

async function runInfraUp(cluster: PrivateCluster): Promise<string> {
  const infra = await testInfra(["postgres", "redis"]);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", INFRA, "up", "--brokers", "3"],
    env: {
      ...cluster.env,
      KAFKA_NAMESPACE: "",
      DATABASE_URL: infra.databaseUrl,
      REDIS_URL: infra.redisUrl,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `infra:up --brokers 3 failed:\n${text}`);
  return text;
}

Deno.test({
  name:
    "a 3-node cluster: replicated topics, every saga finishes while a broker is killed, a paused controller is replaced",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(test) {
    const t0 = performance.now();
    const timings: string[] = [];
    const mark = (what: string) =>
      timings.push(`${what} at +${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const cluster = await startPrivateCluster();
    mark("cluster up");
    const kafka = createKafka({
      brokers: cluster.brokers,
      clientId: "cluster-test",
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();

      await test.step("infra:up --brokers 3 leaves the running nodes be and makes the topics with 3 replicas and min.insync.replicas 2", async () => {
        const output = await runInfraUp(cluster);
        assert.match(output, /all 3 nodes already running, nothing to do/);
        assert.match(output, new RegExp(`KAFKA_BROKERS=${cluster.brokers.join(",")}`));
        assert.deepEqual(await replication(admin, [...ALL_TOPICS]), replicated([...ALL_TOPICS]));
      });

      await test.step(`${ORDERS} orders at ${RATE_PER_SECOND}/s, the orders leader killed with SIGKILL and restarted: each saga ends as its scenario says`, async () => {
        await withTestStack({
          KAFKA_BROKERS: cluster.brokers.join(","),
          STEP_TIMEOUT: "10s",
          COMPENSATION_RETRY_INITIAL: "200ms",
          COMPENSATION_RETRY_MAX: "1s",
          SWEEP_INTERVAL: "200ms",
        }, async (t) => {
          // The services made their topics with the broker's defaults: replicated as well.
          const client = createKafka({
            brokers: cluster.brokers,
            clientId: "cluster-test-storefront",
            namespace: t.env.KAFKA_NAMESPACE!,
            logLevel: kafkajs.logLevel.NOTHING,
          });
          const names = ALL_TOPICS.map((topic) => inNamespace(client, topic));
          assert.deepEqual(await replication(admin, names), replicated(names));
          const ordersTopic = inNamespace(client, TOPICS.orders);

          mark("stack up");
          // The storefront: a producer of its own, quiet while a broker is away, retrying each
          // order until Kafka takes it (a retried order is the same record: the orchestrator
          // takes it once). acks=all, not idempotent: kafkajs's idempotent producer, sending
          // concurrently to a partition whose leader dies, hands a failed batch's sequence
          // number to another batch, which the new leader then drops as a duplicate while
          // acknowledging it (an acknowledged order lost).
          const producer = bindNamespace(
            client.producer({ idempotent: false }),
            namespaceOf(client),
          );
          await producer.connect();
          const plan = planOrders(createPrng(SEED).fork("orders"), {
            count: ORDERS,
            ratePerSecond: RATE_PER_SECOND,
          });
          let placed = 0;
          const killAt = Promise.withResolvers<void>();
          const stopping = new AbortController();
          const generator = runOrderGenerator(producer, plan, {
            signal: stopping.signal,
            retryDelayMs: 200,
            onPlaced: () => {
              if (++placed === KILL_AFTER_ORDERS) killAt.resolve();
            },
          });
          generator.catch(() => killAt.resolve());

          await killAt.promise;
          const before = await leaders(admin, ordersTopic);
          const victim = before.get(0)!;
          const led = [...before].filter(([, leader]) => leader === victim).map(([p]) => p);
          await cluster.kill(victim);
          mark(`node ${victim} killed (leader of orders partitions ${led.join(", ")})`);
          // The controller fences the dead node and another replica takes each of its partitions.
          const after = await waitFor(async () => {
            const now = await leaders(admin, ordersTopic);
            return led.every((p) => ![victim, -1].includes(now.get(p)!)) ? now : undefined;
          }, {
            timeoutMs: 60_000,
            intervalMs: 250,
            description: "new leaders of the orders partitions",
          });
          for (const p of led) assert.notEqual(after.get(p), victim);
          mark(`their leaders moved to ${led.map((p) => after.get(p)).join(", ")}`);
          await cluster.start(victim);
          mark(`node ${victim} restarted`);

          const placedOrders = await generator;
          await producer.disconnect();
          assert.equal(placedOrders.length, ORDERS);
          mark(
            `${ORDERS} orders placed (${
              placedOrders.filter((p) => p.attempts > 1).length
            } retried)`,
          );
          const ids = plan.map((p) => p.order.orderId);
          const sagas = async () =>
            new Map(
              (await t.sql<{ order_id: string; status: SagaStatus }[]>`
                select order_id, status from orchestrator.sagas where order_id in ${t.sql(ids)}`)
                .map((r) => [r.order_id, r.status]),
            );
          const finished = (now: Map<string, SagaStatus>) =>
            ids.every((id) => FINAL_STATUSES.has(now.get(id) ?? "STARTED"));
          await waitFor(async () => finished(await sagas()), {
            timeoutMs: 120_000,
            intervalMs: 500,
            description: `all ${ORDERS} sagas to finish`,
          }).catch(() => {});
          const statuses = await sagas();
          assert.deepEqual(
            plan.filter((p) => !FINAL_STATUSES.has(statuses.get(p.order.orderId) ?? "STARTED"))
              .map((p) =>
                `${p.order.orderId} (${p.scenario.name}): ${
                  statuses.get(p.order.orderId) ?? "no saga"
                }`
              ),
            [],
            "every placed order's saga finished",
          );
          mark(`${ORDERS} sagas finished`);
          const wrong = plan
            .filter((p) => statuses.get(p.order.orderId) !== p.scenario.expected)
            .map((p) =>
              `${p.order.orderId} (${p.scenario.name}): ${statuses.get(p.order.orderId)}, ` +
              `expected ${p.scenario.expected}`
            );
          assert.deepEqual(wrong, []);
          await assertInvariantsHold(t);
          // The services' groups, which committed offsets all along, made the offsets topic:
          // replicated too.
          const offsets = await admin.fetchTopicMetadata({ topics: ["__consumer_offsets"] });
          assert.deepEqual(
            [...new Set(offsets.topics[0]!.partitions.map((p) => p.replicas.length))],
            [3],
          );
          // The restarted node caught up: every replica of every partition in sync again.
          await cluster.waitInSync({ timeoutMs: 60_000 });
          mark("every replica in sync");
        });
      });

      await test.step("the active controller paused (SIGSTOP) past the session timeout is fenced, another is elected, and it rejoins once resumed", async () => {
        const leader = await cluster.quorumLeader();
        const others = cluster.brokers.filter((_, i) => i + 1 !== leader);
        await cluster.pause(leader);
        mark(`node ${leader} (the quorum leader) paused`);
        try {
          await waitFor(async () => (await liveBrokers(others))?.includes(leader) === false, {
            timeoutMs: 60_000,
            intervalMs: 250,
            description: `node ${leader} to be fenced`,
          });
          mark(`node ${leader} fenced`);
          const elected = await waitFor(async () => {
            const now = await cluster.quorumLeader();
            return now > 0 && now !== leader ? now : undefined;
          }, { timeoutMs: 60_000, intervalMs: 0, description: "another quorum leader" });
          mark(`node ${elected} elected`);
        } finally {
          await cluster.resume(leader);
        }
        await waitFor(async () => (await liveBrokers(others))?.includes(leader), {
          timeoutMs: 60_000,
          intervalMs: 250,
          description: `node ${leader} to register again`,
        });
        assert.deepEqual(await liveBrokers([cluster.addressOf(leader)]), [1, 2, 3]);
        mark(`node ${leader} resumed and registered again`);
      });
    } finally {
      await admin.disconnect().catch(() => {});
      await cluster.dispose();
      console.log(`cluster test: ${timings.join("; ")}`);
    }
  },
});
