import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { createMetrics } from "./metrics.ts";
import {
  type OpsServer,
  type OpsServerOptions,
  runReadinessChecks,
  startOpsServer,
} from "./server.ts";

function pass(): Promise<void> {
  return Promise.resolve();
}

function failWith(message: string): () => Promise<void> {
  return () => Promise.reject(new Error(message));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts an ops server on a free local port, runs `fn`, and always closes it. */
async function withServer(
  options: Partial<OpsServerOptions>,
  fn: (base: string, server: OpsServer) => Promise<void>,
): Promise<void> {
  const server = await startOpsServer({
    port: 0,
    hostname: "127.0.0.1",
    service: "test-service",
    registry: createMetrics("test-service").registry,
    ...options,
  });
  try {
    await fn(`http://127.0.0.1:${server.port}`, server);
  } finally {
    await server.close();
  }
}

Deno.test("startOpsServer() answers /healthz with 200 and status ok", async () => {
  await withServer({ readinessChecks: { broken: failWith("down") } }, async (base, server) => {
    assert.ok(server.port > 0);
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await response.json(), { status: "ok", service: "test-service" });
  });
});

Deno.test("startOpsServer() answers /readyz with 200 and each check's result when all pass", async () => {
  await withServer({ readinessChecks: { postgres: pass, redis: pass } }, async (base) => {
    const response = await fetch(`${base}/readyz`);
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.status, "ready");
    assert.equal(body.service, "test-service");
    assert.deepEqual(Object.keys(body.checks).sort(), ["postgres", "redis"]);
    assert.equal(body.checks.postgres.ok, true);
    assert.equal(typeof body.checks.postgres.durationMs, "number");
    assert.equal(body.failing, undefined);
  });
});

Deno.test("startOpsServer() answers /readyz with 200 when it has no checks", async () => {
  await withServer({}, async (base) => {
    const response = await fetch(`${base}/readyz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      status: "ready",
      service: "test-service",
      checks: {},
    });
  });
});

Deno.test("startOpsServer() answers /readyz with 503 naming the failing and hanging checks", async () => {
  let hung: (() => void) | undefined;
  const checks = {
    postgres: pass,
    redis: failWith("Cannot ping Redis: the connection is reconnecting"),
    kafka: () => new Promise<void>((resolve) => hung = resolve),
    sync_throw: () => {
      throw new Error("thrown before any promise");
    },
  };
  await withServer({ readinessChecks: checks, checkTimeoutMs: 100 }, async (base) => {
    const started = performance.now();
    const response = await fetch(`${base}/readyz`);
    const tookMs = performance.now() - started;
    assert.equal(response.status, 503);
    const body = await response.json();
    assert.equal(body.status, "not ready");
    assert.deepEqual(body.failing, ["redis", "kafka", "sync_throw"]);
    assert.equal(body.checks.postgres.ok, true);
    assert.deepEqual(body.checks.redis, {
      ok: false,
      durationMs: body.checks.redis.durationMs,
      error: "Cannot ping Redis: the connection is reconnecting",
    });
    assert.equal(body.checks.kafka.error, 'Check "kafka" timed out after 100 ms');
    assert.equal(body.checks.sync_throw.error, "thrown before any promise");
    assert.ok(tookMs < 1_000, `a hanging check must not hold /readyz (took ${tookMs} ms)`);
  });
  hung?.();
});

Deno.test("startOpsServer() serves /metrics as Prometheus text with the shared metric names", async () => {
  const metrics = createMetrics("inventory");
  metrics.kafkaMessagesConsumed.inc({ topic: "inventory.commands", outcome: "handled" });
  metrics.outboxBacklog.set(3);
  await withServer({ registry: metrics.registry }, async (base) => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), metrics.registry.contentType);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (
      const name of [
        "kafka_messages_consumed_total",
        "kafka_messages_produced_total",
        "outbox_published_total",
        "outbox_backlog",
        "process_cpu_seconds_total",
      ]
    ) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, "m"), `missing ${name}`);
    }
    assert.match(text, /^outbox_backlog\{service="inventory"\} 3$/m);
  });
});

Deno.test("startOpsServer() answers unknown paths with 404, HEAD without a body and other methods with 405", async () => {
  await withServer({}, async (base) => {
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: "No such endpoint: /nope" });

    const root = await fetch(`${base}/`);
    assert.equal(root.status, 404);
    await root.body?.cancel();

    const post = await fetch(`${base}/healthz`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    await post.body?.cancel();

    const head = await fetch(`${base}/healthz`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");

    const withQuery = await fetch(`${base}/healthz?verbose=1`);
    assert.equal(withQuery.status, 200);
    await withQuery.body?.cancel();
  });
});

Deno.test("startOpsServer() answers 500 when the metrics source fails", async () => {
  const registry = {
    contentType: "text/plain",
    metrics: () => Promise.reject(new Error("collector exploded")),
  };
  await withServer({ registry }, async (base) => {
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 500);
    assert.deepEqual(await response.json(), {
      error: "Cannot answer /metrics: collector exploded",
    });
  });
});

/** The first non-loopback IPv4 address of this host, if it has one. */
function externalAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat()
    .find((info) => info?.family === "IPv4" && !info.internal)?.address;
}

async function answersHealthz(host: string, port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}:${port}/healthz`, {
      signal: AbortSignal.timeout(2_000),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

Deno.test("startOpsServer() listens on 127.0.0.1 only when no hostname is given", async () => {
  const server = await startOpsServer({
    port: 0,
    service: "test-service",
    registry: createMetrics("test-service").registry,
  });
  try {
    assert.equal(server.address, "127.0.0.1");
    assert.equal(await answersHealthz("127.0.0.1", server.port), true);
    // Where the host has another address, the server must not answer on it.
    const external = externalAddress();
    if (external !== undefined) {
      assert.equal(await answersHealthz(external, server.port), false, `reached on ${external}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("startOpsServer() listens on the hostname it is given", async () => {
  const server = await startOpsServer({
    port: 0,
    hostname: "0.0.0.0",
    service: "test-service",
    registry: createMetrics("test-service").registry,
  });
  try {
    assert.equal(server.address, "0.0.0.0");
    assert.equal(await answersHealthz("127.0.0.1", server.port), true);
    const external = externalAddress();
    if (external !== undefined) {
      assert.equal(await answersHealthz(external, server.port), true, `not reached on ${external}`);
    }
  } finally {
    await server.close();
  }
});

Deno.test("startOpsServer() rejects naming the address when the port is taken", async () => {
  await withServer({}, async (_base, first) => {
    await assert.rejects(
      startOpsServer({
        port: first.port,
        hostname: "127.0.0.1",
        service: "second",
        registry: createMetrics("second").registry,
      }),
      new RegExp(
        `^Error: Cannot start the ops server of second on 127\\.0\\.0\\.1:${first.port}: `,
      ),
    );
  });
});

Deno.test("startOpsServer() close() resolves promptly with a keep-alive connection open, and twice", async () => {
  const server = await startOpsServer({
    port: 0,
    hostname: "127.0.0.1",
    service: "test-service",
    registry: createMetrics("test-service").registry,
  });
  const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
  await response.body?.cancel();
  const started = performance.now();
  await Promise.race([
    Promise.all([server.close(), server.close()]),
    delay(2_000).then(() => assert.fail("close() did not resolve within 2 s")),
  ]);
  assert.ok(performance.now() - started < 2_000);
  await assert.rejects(fetch(`http://127.0.0.1:${server.port}/healthz`));
});

Deno.test("runReadinessChecks() runs the checks in parallel", async () => {
  // Each check finishes only once the other has started: run one after the other, they time out.
  let startA = () => {};
  let startB = () => {};
  const aStarted = new Promise<void>((resolve) => startA = resolve);
  const bStarted = new Promise<void>((resolve) => startB = resolve);
  const report = await runReadinessChecks({
    a: async () => {
      startA();
      await bStarted;
    },
    b: async () => {
      startB();
      await aStarted;
    },
  }, { timeoutMs: 1_000 });
  assert.deepEqual(report, {
    ready: true,
    failing: [],
    checks: {
      a: { ok: true, durationMs: report.checks.a?.durationMs },
      b: { ok: true, durationMs: report.checks.b?.durationMs },
    },
  });
});
