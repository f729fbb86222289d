import assert from "node:assert/strict";
import { parseBenchArgs, pipelinesOf } from "./options.ts";

Deno.test("parseBenchArgs: defaults are an open loop at 100/s through both pipelines", () => {
  const options = parseBenchArgs([]);
  assert.equal(options.mode, "open");
  assert.equal(options.rate, 100);
  assert.equal(options.concurrency, 32);
  assert.equal(options.warmupMs, 10_000);
  assert.equal(options.durationMs, 30_000);
  assert.equal(options.pipeline, "both");
  assert.equal(options.partitions, 6);
  assert.equal(options.replicas, 1);
  assert.equal(options.logLevel, "info");
  assert.equal(options.stripeLatencyMs, 0);
});

Deno.test("parseBenchArgs: reads every flag", () => {
  const options = parseBenchArgs([
    "--mode",
    "closed",
    "--concurrency",
    "128",
    "--warmup",
    "5s",
    "--duration",
    "1m",
    "--pipeline",
    "saga",
    "--partitions",
    "3",
    "--replicas",
    "2",
    "--log-level",
    "warn",
    "--stripe-latency",
    "300ms",
    "--keep-logs",
  ]);
  assert.equal(options.mode, "closed");
  assert.equal(options.concurrency, 128);
  assert.equal(options.warmupMs, 5_000);
  assert.equal(options.durationMs, 60_000);
  assert.equal(options.pipeline, "saga");
  assert.equal(options.partitions, 3);
  assert.equal(options.replicas, 2);
  assert.equal(options.logLevel, "warn");
  assert.equal(options.stripeLatencyMs, 300);
  assert.equal(options.keepLogs, true);
});

Deno.test("parseBenchArgs: a bad value is one error naming the option", () => {
  assert.throws(() => parseBenchArgs(["--mode", "half"]), /--mode must be open or closed/);
  assert.throws(() => parseBenchArgs(["--rate", "0"]), RangeError);
  assert.throws(() => parseBenchArgs(["--concurrency", "1.5"]), /--concurrency must be an integer/);
  assert.throws(() => parseBenchArgs(["--replicas", "0"]), /--replicas must be a number above 0/);
  assert.throws(() => parseBenchArgs(["--replicas", "99"]), /--replicas .* at most 16/);
  assert.throws(() => parseBenchArgs(["--duration", "soon"]), /--duration must be a duration/);
  assert.throws(() => parseBenchArgs(["--duration", "0s"]), RangeError);
  assert.throws(() => parseBenchArgs(["--log-level", "loud"]), /--log-level/);
  assert.throws(() => parseBenchArgs(["--stripe-latency", "slow"]), /--stripe-latency must be/);
  assert.throws(() => parseBenchArgs(["--stripe-latency", "2m"]), /at most 60s/);
  assert.throws(() => parseBenchArgs(["extra"]), /unexpected argument "extra"/);
  assert.throws(() => parseBenchArgs(["--unknown"]));
});

Deno.test("pipelinesOf: both runs the saga, then the bare pipeline", () => {
  assert.deepEqual(pipelinesOf("both"), ["saga", "bare"]);
  assert.deepEqual(pipelinesOf("bare"), ["bare"]);
});

Deno.test("parseBenchArgs: capacity mode steps from 10/s, each step a 10 s warm-up and a 15 s window", () => {
  const options = parseBenchArgs(["--capacity", "--max-rate", "200", "--out", "/tmp/x"]);
  assert.equal(options.capacity, true);
  assert.equal(options.rate, 10);
  assert.equal(options.maxRate, 200);
  assert.equal(options.warmupMs, 10_000);
  assert.equal(options.durationMs, 15_000);
  assert.equal(options.drainTimeoutMs, 15_000);
  assert.equal(options.outDir, "/tmp/x");
  assert.equal(parseBenchArgs(["--capacity", "--duration", "4s"]).durationMs, 4_000);
  assert.throws(() => parseBenchArgs(["--capacity", "--mode", "closed"]), /steps an open loop/);
});

Deno.test("parseBenchArgs: a cluster of three brokers, and the faults of a run", () => {
  const options = parseBenchArgs([
    "--brokers",
    "3",
    "--replicas",
    "2",
    "--kill-broker-at",
    "5s",
    "--kill-replica-at",
    "10s",
  ]);
  assert.equal(options.brokers, 3);
  assert.equal(options.killBrokerAtMs, 5_000);
  assert.equal(options.killReplicaAtMs, 10_000);
  assert.equal(parseBenchArgs([]).brokers, 1);
  assert.equal(parseBenchArgs([]).killBrokerAtMs, null);
  assert.throws(() => parseBenchArgs(["--brokers", "2"]), /--brokers must be 1 or 3/);
  assert.throws(() => parseBenchArgs(["--kill-broker-at", "5s"]), /needs --brokers 3/);
  assert.throws(() => parseBenchArgs(["--kill-replica-at", "5s"]), /needs --replicas 2/);
  assert.throws(
    () => parseBenchArgs(["--capacity", "--brokers", "3", "--kill-broker-at", "1s"]),
    /not for --capacity/,
  );
});
