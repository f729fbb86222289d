/** The invariant check as end-to-end tests use it: once the system has settled. */
import assert from "node:assert/strict";
import { waitFor } from "../lib/async/mod.ts";
import type { Sql } from "../lib/db/mod.ts";
import { checkInvariants, type LedgerEntry } from "./invariants/mod.ts";

/** What {@linkcode assertInvariantsHold} reads: the stack's database and the provider's ledger. */
export interface InvariantSources {
  sql: Sql;
  ledger(): Promise<Record<string, LedgerEntry>>;
}

/**
 * Asserts that every invariant holds once the system has settled: a violation that clears within
 * `timeoutMs` (an outbox row its relay publishes a moment after the saga it belongs to ended,
 * e.g. after a restart) is not one; what is still violated then fails the test, listed.
 */
export async function assertInvariantsHold(
  sources: InvariantSources,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  let violations: string[] = [];
  try {
    await waitFor(async () => {
      violations = (await checkInvariants(sources.sql, await sources.ledger())).violations;
      return violations.length === 0;
    }, { timeoutMs: options.timeoutMs ?? 15_000, intervalMs: 250, description: "the invariants" });
  } catch {
    assert.deepEqual(violations, []);
  }
}
