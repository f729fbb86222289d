import assert from "node:assert/strict";
import { formatReport, goodputOf, summaryLine } from "./report.ts";
import type { ChaosReport } from "./run.ts";

const RUN: Pick<ChaosReport, "scenarioOrders" | "outcomesByScenario"> = {
  scenarioOrders: {
    "success": { expected: "COMPLETED", orders: 1538 },
    "declined card": { expected: "FAILED", orders: 300 },
    "refund fails": { expected: "COMPENSATION_FAILED", orders: 3 },
  },
  outcomesByScenario: {
    "success": { COMPLETED: 799, COMPENSATED: 739 },
    "declined card": { FAILED: 300 },
    "refund fails": { COMPENSATION_FAILED: 2 },
  },
};

function report(overrides: Partial<ChaosReport> = {}): ChaosReport {
  return {
    seed: 777,
    ordersPlanned: 1841,
    ordersPlaced: 1841,
    ratePerSecond: 20,
    replicas: 2,
    brokers: 3,
    stepTimeoutMs: 6_000,
    stripeLatencyMs: 300,
    faults: [],
    outcomes: { COMPLETED: 799, COMPENSATED: 739, FAILED: 300, COMPENSATION_FAILED: 2 },
    ...RUN,
    poison: [],
    lateReplies: { injected: 0, ignored: 0 },
    deadLetters: undefined,
    violations: [],
    settleMs: 1_000,
    chaosMs: 90_000,
    wallMs: 120_000,
    logDir: "/tmp/chaos-logs",
    postgresMode: null,
    ...overrides,
  } as ChaosReport;
}

Deno.test("goodputOf() counts per scenario the orders that ended in its expected status", () => {
  const { scenarios, goodput } = goodputOf(RUN);
  assert.deepEqual(scenarios, {
    "success": {
      expected: "COMPLETED",
      orders: 1538,
      outcomes: { COMPLETED: 799, COMPENSATED: 739 },
      goodput: 0.5195,
    },
    "declined card": { expected: "FAILED", orders: 300, outcomes: { FAILED: 300 }, goodput: 1 },
    // One order of three has no saga at all: it counts as placed, not as good.
    "refund fails": {
      expected: "COMPENSATION_FAILED",
      orders: 3,
      outcomes: { COMPENSATION_FAILED: 2 },
      goodput: 0.6666,
    },
  });
  // (799 + 300 + 2) / 1841 = 0.598044…
  assert.equal(goodput, 0.598);
});

Deno.test("goodputOf() rounds down, so 1 means every order, and is 0 with no orders", () => {
  const almost = goodputOf({
    scenarioOrders: { success: { expected: "COMPLETED", orders: 20_000 } },
    outcomesByScenario: { success: { COMPLETED: 19_999, COMPENSATED: 1 } },
  });
  assert.equal(almost.goodput, 0.9999);
  const exact = goodputOf({
    scenarioOrders: { success: { expected: "COMPLETED", orders: 100 } },
    outcomesByScenario: { success: { COMPLETED: 29 } },
  });
  assert.equal(exact.goodput, 0.29);
  const unsettled = goodputOf({
    scenarioOrders: { success: { expected: "COMPLETED", orders: 4 } },
    outcomesByScenario: {},
  });
  assert.deepEqual(unsettled.scenarios.success?.outcomes, {});
  assert.equal(unsettled.goodput, 0);
  assert.deepEqual(goodputOf({ scenarioOrders: {}, outcomesByScenario: {} }), {
    scenarios: {},
    goodput: 0,
  });
});

Deno.test("summaryLine() records the scenarios, the goodput and the Stripe latency", () => {
  const summary = JSON.parse(summaryLine(report()));
  assert.equal(summary.goodput, 0.598);
  assert.equal(summary.stripeLatencyMs, 300);
  assert.deepEqual(summary.scenarios["declined card"], {
    expected: "FAILED",
    orders: 300,
    outcomes: { FAILED: 300 },
    goodput: 1,
  });
  assert.equal(summary.scenarios.success.goodput, 0.5195);
  assert.equal(summary.passed, true);
});

Deno.test("formatReport() shows each scenario's expected status and goodput", () => {
  const text = formatReport(report());
  const success = text.split("\n").find((line) => line.startsWith("success"));
  assert.ok(success !== undefined, text);
  assert.match(success, /COMPLETED.*799.*739.*1538.*51\.95 %/);
  const all = text.split("\n").find((line) => line.startsWith("all orders"));
  assert.match(all ?? "", /1841\s+59\.80 %/);
  assert.match(text, /GOODPUT/);
  assert.match(text, /Stripe latency\s+300 ms median/);
});
