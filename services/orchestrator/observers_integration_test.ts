/** The orchestrator's status publisher against the real Redis. */
import assert from "node:assert/strict";
import { waitFor } from "../../lib/async/mod.ts";
import { closeRedis, connectRedis } from "../../lib/redis/mod.ts";
import {
  readSagaStatus,
  type SagaStatusUpdate,
  statusKey,
  subscribeSagaStatus,
} from "../../lib/saga_status/mod.ts";
import { testInfra } from "../../testing/infra.ts";
import { capturingLogger } from "../../testing/log.ts";
import { sagaEvent } from "../../testing/saga_events.ts";
import { createStatusPublisher } from "./observers.ts";

Deno.test("createStatusPublisher() publishes a committed chunk's statuses at once, the last of each saga", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  const subscriber = connectRedis(redisUrl);
  const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
  try {
    const seen: SagaStatusUpdate[] = [];
    const unsubscribes = await Promise.all(
      [a, b].map((orderId) => subscribeSagaStatus(subscriber, orderId, (u) => seen.push(u))),
    );
    const { log, lines } = capturingLogger("orchestrator");
    const publish = createStatusPublisher(redis, log);
    await publish([
      sagaEvent("saga-a", a, "IN_PROGRESS"),
      sagaEvent("saga-b", b, "IN_PROGRESS"),
      sagaEvent("saga-a", a, "COMPLETED"),
    ], new Map([["saga-a", 21], ["saga-b", 20]]));
    assert.equal((await readSagaStatus(redis, a))?.status, "COMPLETED");
    assert.equal((await readSagaStatus(redis, a))?.version, 21);
    assert.equal((await readSagaStatus(redis, b))?.version, 20);
    // Published in one pipeline, a's before b's: once b's arrived, a's did.
    await waitFor(() => seen.some((u) => u.orderId === b), { description: "b's update" });
    assert.deepEqual(seen.map((u) => [u.orderId, u.status]), [
      [a, "COMPLETED"],
      [b, "IN_PROGRESS"],
    ]);
    assert.deepEqual(lines, []);
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
  } finally {
    await redis.del(statusKey(a), statusKey(b));
    await closeRedis(subscriber);
    await closeRedis(redis);
  }
});

Deno.test("createStatusPublisher() warns once while Redis is away, never rejects, and says when it is back", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl, { enableOfflineQueue: false, onError: () => {} });
  const orderId = crypto.randomUUID();
  try {
    // Without the offline queue, a command sent before the connection is up fails.
    await waitFor(() => redis.status === "ready", { description: "Redis connected" });
    const { log, lines } = capturingLogger("orchestrator");
    const publish = createStatusPublisher(redis, log);
    redis.disconnect(); // away: commands fail at once
    await waitFor(() => redis.status === "end", { description: "Redis disconnected" });
    await publish([sagaEvent("s", orderId, "IN_PROGRESS")], new Map([["s", 1]]));
    await publish([sagaEvent("s", orderId, "COMPLETED")], new Map([["s", 2]]));
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
      ["warn", "Cannot update the saga status cache"],
    ]);
    await redis.connect();
    await publish([sagaEvent("s", orderId, "COMPLETED")], new Map([["s", 2]]));
    assert.deepEqual(lines.map((l) => [l.level, l.msg]).slice(1), [
      ["info", "Saga status cache reachable again"],
    ]);
    assert.equal((await readSagaStatus(redis, orderId))?.status, "COMPLETED");
  } finally {
    await redis.del(statusKey(orderId));
    await closeRedis(redis);
  }
});
