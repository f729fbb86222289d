/**
 * The CI-sized chaos run (issue 5): 300 orders at 5/s while every kind of fault is injected at
 * least once — each service SIGKILLed and restarted, one of two orchestrator replicas killed,
 * the run's own broker and Redis stopped, PostgreSQL restarted, Stripe failing and stalling,
 * records duplicated, replies late, poison — then zero invariant violations. The seed is fixed
 * so that a failure replays (CHAOS_SEED picks another); `deno task chaos` runs the long one.
 * Then the cluster-sized one (issue 14): 200 orders at 10/s on a 3-node cluster of the run's
 * own while a broker is SIGKILLed and restarted.
 */
import assert from "node:assert/strict";
import {
  FAULT_KINDS,
  faultCounts,
  faultKindsFor,
  formatReport,
  goodputOf,
  parseSeed,
  runChaos,
  summaryLine,
} from "./mod.ts";

const SEED = parseSeed(Deno.env.get("CHAOS_SEED") ?? "20261126");

Deno.test({
  name: "chaos: 300 orders under every kind of fault keep every invariant",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await runChaos({
      orders: 300,
      ratePerSecond: 5,
      seed: SEED,
      faults: FAULT_KINDS,
      killsPerService: 1,
      rounds: 1,
    });
    console.log(summaryLine(report));
    if (report.violations.length > 0) console.log(formatReport(report));
    assert.deepEqual(report.violations, [], `chaos run with seed ${SEED} broke invariants`);
    const counts = faultCounts(report);
    for (const kind of faultKindsFor(FAULT_KINDS, 1)) {
      assert.ok((counts[kind] ?? 0) >= 1, `no ${kind} fault injected`);
    }
    assert.ok(report.ordersPlaced >= 300);
    assert.ok(report.poison.length >= 12 && report.poison.every((p) => p.reason !== null));
    assert.ok(report.lateReplies.injected > 0);
    assert.notEqual(report.settleMs, null);
  },
});

Deno.test({
  name: "chaos: 200 orders on a 3-broker cluster while a broker is killed keep every invariant",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const report = await runChaos({
      orders: 200,
      ratePerSecond: 10,
      seed: SEED,
      faults: ["broker-kill"],
      rounds: 1,
      brokers: 3,
    });
    console.log(summaryLine(report));
    if (report.violations.length > 0) console.log(formatReport(report));
    assert.deepEqual(report.violations, [], `cluster chaos run with seed ${SEED} broke invariants`);
    assert.equal(faultCounts(report)["broker-kill"], 1, "the broker was killed and restarted");
    assert.match(report.faults[0]!.detail, /new leaders [\d.]+ s later/);
    assert.equal(report.ordersPlaced, 200);
    assert.ok(goodputOf(report).goodput >= 0.99, `goodput ${goodputOf(report).goodput}`);
  },
});
