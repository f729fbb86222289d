/**
 * How a chaos run reads: tables for a person (faults, outcomes and goodput, poison, violations)
 * and one JSON line for a machine, always printed last.
 */
import { formatTable } from "../../lib/format/table.ts";
import { SAGA_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { FAULT_KINDS } from "./plan.ts";
import type { ChaosReport } from "./run.ts";

const seconds = (ms: number | null) => ms === null ? "never" : `${(ms / 1000).toFixed(1)} s`;

/** Fault kind → how many were injected (failed injections not counted). */
export function faultCounts(report: ChaosReport): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of report.faults) {
    if (outcome.error !== undefined) continue;
    counts[outcome.fault.kind] = (counts[outcome.fault.kind] ?? 0) + 1;
  }
  return counts;
}

/** One scenario of a run: the status its orders must reach and where they ended. */
export interface ScenarioResult {
  expected: SagaStatus;
  /** Orders of the scenario that were placed. */
  orders: number;
  /** Final saga status → count (an order with no saga is in `orders` only). */
  outcomes: Partial<Record<SagaStatus, number>>;
  /** Orders that ended in `expected` ÷ `orders`, rounded down to 4 decimals (0 with none). */
  goodput: number;
}

/** Goodput of a run: per scenario, and over every order placed. */
export interface Goodput {
  scenarios: Record<string, ScenarioResult>;
  /** Orders that ended in their scenario's expected status ÷ orders (4 decimals, rounded down). */
  goodput: number;
}

/**
 * How many orders ended as their scenario must, per scenario and overall: the good part of the
 * throughput. Reported only; what fails a run is the invariants.
 */
export function goodputOf(
  run: Pick<ChaosReport, "scenarioOrders" | "outcomesByScenario">,
): Goodput {
  const scenarios: Record<string, ScenarioResult> = {};
  let orders = 0;
  let good = 0;
  for (const [name, { expected, orders: placed }] of Object.entries(run.scenarioOrders)) {
    const outcomes = { ...run.outcomesByScenario[name] };
    const ended = outcomes[expected] ?? 0;
    scenarios[name] = { expected, orders: placed, outcomes, goodput: ratio(ended, placed) };
    orders += placed;
    good += ended;
  }
  return { scenarios, goodput: ratio(good, orders) };
}

/** `part / whole` rounded down to 4 decimals, so that 1 means all; 0 when `whole` is 0. */
function ratio(part: number, whole: number): number {
  if (whole === 0) return 0;
  return Math.floor((part / whole) * 10_000 + 1e-9) / 10_000;
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(2)} %`;

/** The human report: run, faults, outcomes and goodput, poison, invariant violations. */
export function formatReport(report: ChaosReport): string {
  const counts = faultCounts(report);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const out: string[] = [];
  out.push(formatTable(["RUN", ""], [
    ["seed", String(report.seed)],
    ["orders placed", `${report.ordersPlaced} of ${report.ordersPlanned}`],
    ["rate", `${report.ratePerSecond}/s (open loop)`],
    ["replicas", `${report.replicas} of every service`],
    ["brokers", report.brokers === 3 ? "3 (a cluster of the run's own)" : "1"],
    ["step timeout", seconds(report.stepTimeoutMs)],
    ["Stripe latency", `${report.stripeLatencyMs} ms median (p99 ≈ 3×)`],
    ["chaos window", seconds(report.chaosMs)],
    ["settled after last fault", seconds(report.settleMs)],
    ["wall time", seconds(report.wallMs)],
    ["service logs", report.logDir],
  ]));

  const detailsOf = (kind: string) => {
    const outcomes = report.faults.filter((outcome) => outcome.fault.kind === kind);
    if (kind === "kill") {
      const per = new Map<string, number>();
      for (const o of outcomes) {
        if (o.fault.kind === "kill") per.set(o.fault.service, (per.get(o.fault.service) ?? 0) + 1);
      }
      return [...per].map(([service, n]) => `${service}×${n}`).join(" ");
    }
    if (kind === "postgres" && report.postgresMode !== null) {
      return report.postgresMode === "restart" ? "cluster restarted" : "connections cut";
    }
    return outcomes[0]?.detail ?? "";
  };
  out.push("");
  out.push(formatTable(
    ["FAULT", "INJECTED", "FAILED", "E.G."],
    [
      ...FAULT_KINDS.filter((kind) => report.faults.some((o) => o.fault.kind === kind)).map((
        kind,
      ) => [
        kind,
        String(counts[kind] ?? 0),
        String(report.faults.filter((o) => o.fault.kind === kind && o.error !== undefined).length),
        detailsOf(kind).slice(0, 110),
      ]),
      ["total", String(total), "", ""],
    ],
  ));

  out.push("");
  const goodput = goodputOf(report);
  const statuses = SAGA_STATUSES.filter((status) =>
    Object.values(report.outcomesByScenario).some((byStatus) => byStatus[status] !== undefined)
  );
  out.push(formatTable(
    ["SCENARIO", "EXPECTED", ...statuses, "ORDERS", "GOODPUT"],
    [
      ...Object.entries(goodput.scenarios).map(([scenario, result]) => [
        scenario,
        result.expected,
        ...statuses.map((status) => String(result.outcomes[status] ?? 0)),
        String(result.orders),
        percent(result.goodput),
      ]),
      [
        "all orders",
        "",
        ...statuses.map((status) => String(report.outcomes[status] ?? 0)),
        String(report.ordersPlaced),
        percent(goodput.goodput),
      ],
    ],
  ));

  if (report.poison.length > 0) {
    out.push("");
    out.push(formatTable(
      ["POISON", "TOPIC", "DLQ REASON"],
      report.poison.map((p) => [p.name, p.topic, (p.reason ?? "NOT IN THE DLQ").slice(0, 100)]),
    ));
  }

  out.push("");
  const dlq = report.deadLetters;
  out.push(formatTable(["CHECK", ""], [
    [
      "dead letters",
      dlq
        ? `${dlq.injected} injected, ${dlq.alerts} COMPENSATION_FAILED alerts, ${dlq.unexpected} unexpected`
        : "not read",
    ],
    [
      "late/reordered replies",
      `${report.lateReplies.injected} sent, ${report.lateReplies.ignored} recorded and ignored`,
    ],
    ["invariant violations", String(report.violations.length)],
  ]));
  for (const violation of report.violations.slice(0, 50)) out.push(`  ✗ ${violation}`);
  if (report.violations.length > 50) out.push(`  … and ${report.violations.length - 50} more`);
  return out.join("\n");
}

/** The machine-readable summary: one JSON line. */
export function summaryLine(report: ChaosReport): string {
  const { scenarios, goodput } = goodputOf(report);
  return JSON.stringify({
    passed: report.violations.length === 0,
    seed: report.seed,
    orders: report.ordersPlaced,
    rate: report.ratePerSecond,
    replicas: report.replicas,
    brokers: report.brokers,
    stripeLatencyMs: report.stripeLatencyMs,
    faults: faultCounts(report),
    faultsTotal: Object.values(faultCounts(report)).reduce((sum, n) => sum + n, 0),
    outcomes: report.outcomes,
    scenarios,
    goodput,
    poison: report.poison.length,
    deadLetters: report.deadLetters ?? null,
    lateReplies: report.lateReplies,
    violations: report.violations.length,
    firstViolations: report.violations.slice(0, 10),
    settleMs: report.settleMs,
    chaosMs: report.chaosMs,
    wallMs: report.wallMs,
  });
}
