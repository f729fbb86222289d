import assert from "node:assert/strict";
import { waitFor } from "../../lib/async/mod.ts";
import { closeDb, connectDb } from "../../lib/db/mod.ts";
import { closeRedis, connectRedis, type Redis } from "../../lib/redis/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { testInfra } from "../../testing/infra.ts";
import { postgresFault, type PrivateRedis, startPrivateRedis, startRedisProxy } from "./infra.ts";

async function outage(redis: PrivateRedis): Promise<void> {
  const client: Redis = connectRedis(redis.url, { enableOfflineQueue: false, onError: () => {} });
  try {
    await waitFor(() => client.ping().then((reply) => reply === "PONG", () => false), {
      description: "the first PONG",
    });
    await redis.stop();
    await assert.rejects(client.ping());
    await redis.start();
    await waitFor(() => client.ping().then((reply) => reply === "PONG", () => false), {
      description: "a PONG after the restart",
    });
  } finally {
    await closeRedis(client);
    await redis.dispose();
  }
}

Deno.test("startPrivateRedis() gives a Redis of the run's own that stops and starts again", async () => {
  await outage(await startPrivateRedis());
});

Deno.test("startRedisProxy() cuts the connections to Redis and lets them in again", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  await outage(await startRedisProxy(redisUrl));
});

Deno.test("postgresFault() in terminate mode cuts only the connections to the run's database", async () => {
  const { databaseUrl } = await testInfra(["postgres"]);
  await withTestDatabase(async (db) => {
    const bystander = connectDb(databaseUrl, { max: 1, applicationName: "bystander" });
    try {
      const pid = async (sql: typeof bystander) =>
        (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
      const before = { run: await pid(db.sql), other: await pid(bystander) };
      const fault = await postgresFault(db.url, { mode: "terminate" });
      assert.equal(fault.mode, "terminate");
      await fault.inject();
      await waitFor(async () => await pid(db.sql).catch(() => before.run) !== before.run, {
        description: "the run's pool to reconnect",
      });
      assert.equal(await pid(bystander), before.other, "another database's session lives on");
    } finally {
      await closeDb(bystander);
    }
  });
});
