/**
 * How a chaos run reads: tables for a person (faults, outcomes, poison, violations) and one JSON
 * line for a machine, always printed last.
 */
import { formatTable } from "../format/table.ts";
import { SAGA_STATUSES } from "../saga/mod.ts";
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

/** The human report: run, faults, outcomes, poison, invariant violations. */
export function formatReport(report: ChaosReport): string {
  const counts = faultCounts(report);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const out: string[] = [];
  out.push(formatTable(["RUN", ""], [
    ["seed", String(report.seed)],
    ["orders placed", `${report.ordersPlaced} of ${report.ordersPlanned}`],
    ["rate", `${report.ratePerSecond}/s (open loop)`],
    ["step timeout", seconds(report.stepTimeoutMs)],
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
  const statuses = SAGA_STATUSES.filter((status) =>
    Object.values(report.outcomesByScenario).some((byStatus) => byStatus[status] !== undefined)
  );
  out.push(formatTable(
    ["SCENARIO", ...statuses, "TOTAL"],
    [
      ...Object.entries(report.outcomesByScenario).map(([scenario, byStatus]) => [
        scenario,
        ...statuses.map((status) => String(byStatus[status] ?? 0)),
        String(Object.values(byStatus).reduce((sum, n) => sum + (n ?? 0), 0)),
      ]),
      [
        "all orders",
        ...statuses.map((status) => String(report.outcomes[status] ?? 0)),
        String(Object.values(report.outcomes).reduce((sum, n) => sum + (n ?? 0), 0)),
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
  return JSON.stringify({
    passed: report.violations.length === 0,
    seed: report.seed,
    orders: report.ordersPlaced,
    rate: report.ratePerSecond,
    faults: faultCounts(report),
    faultsTotal: Object.values(faultCounts(report)).reduce((sum, n) => sum + n, 0),
    outcomes: report.outcomes,
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
