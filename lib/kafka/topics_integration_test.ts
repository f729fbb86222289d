import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { testInfra } from "../../testing/infra.ts";
import { createKafka } from "./client.ts";
import { ensureTopics, waitForKafka } from "./topics.ts";

function uniqueTopics(count: number): string[] {
  const run = `${Date.now().toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
  return Array.from({ length: count }, (_, i) => `test.topics.${run}.${i}`);
}

Deno.test("ensureTopics() creates only the missing topics when run twice", async () => {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: "topics-integration-test" });
  const topics = uniqueTopics(3);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const first = await ensureTopics(kafka, { topics: [...topics, topics[0]!], partitions: 3 });
    assert.deepEqual([...first].sort(), topics);

    const second = await ensureTopics(kafka, { topics, partitions: 3 });
    assert.deepEqual(second, []);

    const metadata = await admin.fetchTopicMetadata({ topics });
    for (const topic of metadata.topics) {
      assert.equal(topic.partitions.length, 3, `partitions of ${topic.name}`);
      for (const partition of topic.partitions) assert.equal(partition.replicas.length, 1);
    }
  } finally {
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  }
});

Deno.test("ensureTopics() creates the rest when some topics already exist", async () => {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: "topics-integration-test" });
  const topics = uniqueTopics(2);
  const admin = kafka.admin();
  await admin.connect();
  try {
    assert.deepEqual(await ensureTopics(kafka, { topics: [topics[0]!], partitions: 1 }), [
      topics[0],
    ]);
    assert.deepEqual(await ensureTopics(kafka, { topics, partitions: 1 }), [topics[1]]);
  } finally {
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  }
});

Deno.test("ensureTopics() rejects a partition count below 1", async () => {
  const kafka = createKafka({ brokers: ["127.0.0.1:9"], clientId: "topics-integration-test" });
  await assert.rejects(ensureTopics(kafka, { topics: ["x"], partitions: 0 }), RangeError);
});

Deno.test("waitForKafka() resolves with the cluster when the broker answers", async () => {
  const { kafkaBrokers } = await testInfra(["kafka"]);
  const kafka = createKafka({ brokers: kafkaBrokers, clientId: "topics-integration-test" });
  const cluster = await waitForKafka(kafka, { timeoutMs: 10_000 });
  assert.ok(cluster.brokers.length >= 1);
  assert.ok(cluster.clusterId.length > 0);
  assert.notEqual(cluster.controller, null);
});

Deno.test("waitForKafka() rejects after the deadline when nothing listens", async () => {
  // Port 9 (discard) on loopback: nothing listens there on a development machine.
  const kafka = createKafka({
    brokers: ["127.0.0.1:9"],
    clientId: "topics-integration-test",
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const started = Date.now();
  await assert.rejects(
    waitForKafka(kafka, { timeoutMs: 1_000, intervalMs: 100 }),
    /Kafka did not answer within 1000 ms/,
  );
  assert.ok(Date.now() - started < 5_000, "gave up near the deadline");
});

Deno.test("waitForKafka() stops at once when its signal aborts", async () => {
  const kafka = createKafka({
    brokers: ["127.0.0.1:9"],
    clientId: "topics-integration-test",
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const controller = new AbortController();
  const waiting = waitForKafka(kafka, { timeoutMs: 60_000, signal: controller.signal });
  controller.abort(new Error("the broker process exited"));
  await assert.rejects(waiting, /the broker process exited/);
});
