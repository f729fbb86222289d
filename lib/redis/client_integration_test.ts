import assert from "node:assert/strict";
import { createServer } from "node:net";
import { testInfra } from "../../testing/infra.ts";
import { closeRedis, connectRedis } from "./client.ts";

/** A TCP port on 127.0.0.1 that nothing listens on (bound, read, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

Deno.test("connectRedis() round-trips a value through the real server", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl, { connectionName: "redis-client-test" });
  const key = `test:redis-client:${crypto.randomUUID()}`;
  try {
    assert.equal(await redis.set(key, "héllo", "PX", 60_000), "OK");
    assert.equal(await redis.get(key), "héllo");
    assert.equal(await redis.del(key), 1);
    assert.equal(await redis.get(key), null);
  } finally {
    await closeRedis(redis);
  }
  assert.equal(redis.status, "end");
});

Deno.test("connectRedis() fails commands at once when Redis is down and the offline queue is off", async () => {
  const errors: Error[] = [];
  const redis = connectRedis(`redis://127.0.0.1:${await closedPort()}`, {
    enableOfflineQueue: false,
    onError: (error) => errors.push(error),
  });
  try {
    const started = performance.now();
    await assert.rejects(redis.get("anything"), /enableOfflineQueue options is false/);
    assert.ok(performance.now() - started < 500, "the command should not wait for Redis");
  } finally {
    await closeRedis(redis);
  }
  assert.equal(redis.status, "end");
});

Deno.test("connectRedis() fails a queued command after one retry when Redis is down, and closes at once", async () => {
  const errors: Error[] = [];
  const redis = connectRedis(`redis://127.0.0.1:${await closedPort()}`, {
    onError: (error) => errors.push(error),
  });
  try {
    await assert.rejects(redis.get("anything"), /Reached the max retries per request limit/);
    assert.ok(errors.length > 0, "connection errors should reach onError");
  } finally {
    const started = performance.now();
    await closeRedis(redis);
    assert.ok(performance.now() - started < 500, "closing a reconnecting client is immediate");
  }
});
