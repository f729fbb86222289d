import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import { closeRedis, connectRedis } from "../redis/mod.ts";
import { testInfra } from "../../testing/infra.ts";
import {
  publishSagaStatus,
  publishSagaStatuses,
  readSagaStatus,
  type SagaStatusUpdate,
  subscribeSagaStatus,
} from "./mod.ts";

/** An update of saga "s" of `orderId` to `status`, with a version when given. */
function statusUpdate(
  orderId: string,
  status: SagaStatusUpdate["status"],
  version?: number,
): SagaStatusUpdate {
  return {
    sagaId: "s",
    orderId,
    status,
    step: null,
    note: status,
    updatedAt: new Date().toISOString(),
    ...(version === undefined ? {} : { version }),
  };
}

Deno.test("publishSagaStatus() caches the latest status and notifies the order's subscribers only", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  const subscriber = connectRedis(redisUrl);
  try {
    const orderId = crypto.randomUUID();
    const otherOrderId = crypto.randomUUID();
    const seen: SagaStatusUpdate[] = [];
    const unsubscribe = await subscribeSagaStatus(subscriber, orderId, (u) => seen.push(u));
    const update = (status: SagaStatusUpdate["status"], id = orderId): SagaStatusUpdate => ({
      sagaId: "s",
      orderId: id,
      status,
      step: "ProcessPayment",
      note: status,
      updatedAt: new Date().toISOString(),
    });
    await publishSagaStatus(redis, update("IN_PROGRESS"));
    await publishSagaStatus(redis, update("COMPLETED", otherOrderId));
    await publishSagaStatus(redis, update("COMPENSATING"));
    await waitFor(() => seen.length === 2, { description: "two updates" });
    assert.deepEqual(seen.map((u) => u.status), ["IN_PROGRESS", "COMPENSATING"]);
    assert.equal((await readSagaStatus(redis, orderId))?.status, "COMPENSATING");
    assert.equal(await readSagaStatus(redis, crypto.randomUUID()), null);
    await unsubscribe();
    await redis.del(`saga:order:${orderId}`, `saga:order:${otherOrderId}`);
  } finally {
    await closeRedis(subscriber);
    await closeRedis(redis);
  }
});

Deno.test("publishSagaStatus() keeps the later of two updates that arrive out of order", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  const subscriber = connectRedis(redisUrl);
  const orderId = crypto.randomUUID();
  try {
    const seen: SagaStatusUpdate[] = [];
    const unsubscribe = await subscribeSagaStatus(subscriber, orderId, (u) => seen.push(u));
    const update = (status: SagaStatusUpdate["status"], version?: number) =>
      statusUpdate(orderId, status, version);
    // Two orchestrator replicas: the later transition (version 12) reaches Redis first.
    assert.equal(await publishSagaStatus(redis, update("COMPLETED", 12)), true);
    assert.equal(await publishSagaStatus(redis, update("IN_PROGRESS", 9)), false);
    assert.equal(await publishSagaStatus(redis, update("IN_PROGRESS", 12)), false);
    assert.equal((await readSagaStatus(redis, orderId))?.status, "COMPLETED");
    assert.equal(await publishSagaStatus(redis, update("COMPENSATING", 13)), true);
    // An update without a version (an operator's action) always replaces the cache…
    assert.equal(await publishSagaStatus(redis, update("COMPENSATED")), true);
    assert.equal((await readSagaStatus(redis, orderId))?.status, "COMPENSATED");
    // …and any versioned one replaces it in turn.
    assert.equal(await publishSagaStatus(redis, update("COMPENSATION_FAILED", 2)), true);
    await waitFor(() => seen.length === 4, { description: "four updates" });
    assert.deepEqual(seen.map((u) => u.status), [
      "COMPLETED",
      "COMPENSATING",
      "COMPENSATED",
      "COMPENSATION_FAILED",
    ]);
    assert.ok(await redis.ttl(`saga:order:${orderId}`) > 0, "the cached status expires");
    await unsubscribe();
  } finally {
    await redis.del(`saga:order:${orderId}`);
    await closeRedis(subscriber);
    await closeRedis(redis);
  }
});

Deno.test("publishSagaStatuses() caches and publishes the updates of several sagas in one call", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  const subscriber = connectRedis(redisUrl);
  const orderIds = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  try {
    const seen: SagaStatusUpdate[] = [];
    const unsubscribes = await Promise.all(
      orderIds.map((orderId) => subscribeSagaStatus(subscriber, orderId, (u) => seen.push(u))),
    );
    const updates: SagaStatusUpdate[] = orderIds.map((orderId, index) => ({
      sagaId: `s${index}`,
      orderId,
      status: index === 0 ? "COMPLETED" : "IN_PROGRESS",
      step: "ProcessPayment",
      note: `saga ${index}`,
      updatedAt: new Date().toISOString(),
      // The last one without a version (an operator's action), the others with one.
      ...(index === 2 ? {} : { version: 10 + index }),
    }));
    assert.deepEqual(await publishSagaStatuses(redis, updates), [true, true, true]);
    for (const update of updates) {
      assert.deepEqual(await readSagaStatus(redis, update.orderId), update);
    }
    await waitFor(() => seen.length === 3, { description: "three updates" });
    assert.deepEqual(
      seen.toSorted((a, b) => a.sagaId.localeCompare(b.sagaId)),
      updates,
      "each published on its order's channel",
    );
    assert.deepEqual(await publishSagaStatuses(redis, []), [], "nothing to send, nothing sent");
    await Promise.all(unsubscribes.map((unsubscribe) => unsubscribe()));
  } finally {
    await redis.del(...orderIds.map((orderId) => `saga:order:${orderId}`));
    await closeRedis(subscriber);
    await closeRedis(redis);
  }
});

Deno.test("publishSagaStatuses() keeps the later of two updates of one order in one call, whichever comes first", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  const [laterFirst, laterLast] = [crypto.randomUUID(), crypto.randomUUID()];
  const update = statusUpdate;
  try {
    assert.deepEqual(
      await publishSagaStatuses(redis, [
        update(laterFirst, "COMPLETED", 7),
        update(laterLast, "IN_PROGRESS", 3),
        update(laterFirst, "IN_PROGRESS", 3),
        update(laterLast, "COMPLETED", 7),
      ]),
      [true, true, false, true],
    );
    assert.equal((await readSagaStatus(redis, laterFirst))?.status, "COMPLETED");
    assert.equal((await readSagaStatus(redis, laterLast))?.status, "COMPLETED");
    assert.equal((await readSagaStatus(redis, laterLast))?.version, 7);
  } finally {
    await redis.del(`saga:order:${laterFirst}`, `saga:order:${laterLast}`);
    await closeRedis(redis);
  }
});
