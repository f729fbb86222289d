/**
 * The CI-sized chaos run (issue 5): 300 orders at 5/s while every kind of fault is injected at
 * least once — each service SIGKILLed and restarted, one of two orchestrator replicas killed,
 * the run's own broker and Redis stopped, PostgreSQL restarted, Stripe failing and stalling,
 * records duplicated, replies late, poison — then zero invariant violations. The seed is fixed
 * so that a failure replays (CHAOS_SEED picks another); `deno task chaos` runs the long one.
 */
import assert from "node:assert/strict";
import { FAULT_KINDS, faultCounts, formatReport, parseSeed, runChaos, summaryLine } from "./mod.ts";

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
    for (const kind of FAULT_KINDS) {
      assert.ok((counts[kind] ?? 0) >= 1, `no ${kind} fault injected`);
    }
    assert.ok(report.ordersPlaced >= 300);
    assert.ok(report.poison.length >= 12 && report.poison.every((p) => p.reason !== null));
    assert.ok(report.lateReplies.injected > 0);
    assert.notEqual(report.settleMs, null);
  },
});
