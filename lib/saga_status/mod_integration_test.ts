import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import { closeRedis, connectRedis } from "../redis/mod.ts";
import { testInfra } from "../testing/infra.ts";
import {
  publishSagaStatus,
  readSagaStatus,
  type SagaStatusUpdate,
  subscribeSagaStatus,
} from "./mod.ts";

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
