import assert from "node:assert/strict";
import { closeDb, connectDb } from "../db/pool.ts";
import { closeRedis, connectRedis } from "../redis/client.ts";
import { testInfra } from "../../testing/infra.ts";
import { checkPostgres, checkRedis } from "./checks.ts";
import { createMetrics } from "./metrics.ts";
import { startOpsServer } from "./server.ts";

Deno.test("checkPostgres() resolves against the real database", async () => {
  const { databaseUrl } = await testInfra(["postgres"]);
  const sql = connectDb(databaseUrl, { max: 1 });
  try {
    await checkPostgres(sql)();
  } finally {
    await closeDb(sql);
  }
});

Deno.test("checkPostgres() rejects when nothing listens at the address", async () => {
  const sql = connectDb("postgres://postgres@127.0.0.1:1/none", { max: 1 });
  try {
    await assert.rejects(checkPostgres(sql)(), /ECONNREFUSED/);
  } finally {
    await closeDb(sql);
  }
});

Deno.test("checkRedis() resolves against the real server once connected", async () => {
  const { redisUrl } = await testInfra(["redis"]);
  const redis = connectRedis(redisUrl);
  try {
    await redis.ping(); // the check does not wait for the first connection
    await checkRedis(redis)();
  } finally {
    await closeRedis(redis);
  }
});

Deno.test("checkRedis() rejects at once while the client is not connected", async () => {
  const redis = connectRedis("redis://127.0.0.1:1", { onError: () => {} });
  try {
    await assert.rejects(checkRedis(redis)(), /^Error: Cannot ping Redis: the connection is /);
  } finally {
    await closeRedis(redis);
  }
});

Deno.test("startOpsServer() reports ready with the real PostgreSQL and Redis checks", async () => {
  const { databaseUrl, redisUrl } = await testInfra(["postgres", "redis"]);
  const sql = connectDb(databaseUrl, { max: 1 });
  const redis = connectRedis(redisUrl);
  await redis.ping();
  const server = await startOpsServer({
    port: 0,
    hostname: "127.0.0.1",
    service: "checks-test",
    registry: createMetrics("checks-test").registry,
    readinessChecks: { postgres: checkPostgres(sql), redis: checkRedis(redis) },
  });
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/readyz`);
    const body = await response.json();
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.checks.postgres.ok, true);
    assert.equal(body.checks.redis.ok, true);
  } finally {
    await server.close();
    await closeRedis(redis);
    await closeDb(sql);
  }
});
