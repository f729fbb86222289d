/**
 * Chaos runs (issue 5): orders arrive open-loop while seeded faults are injected — processes
 * killed, the broker, PostgreSQL and Redis taken away, Stripe failing, records duplicated,
 * replies late, poison — then the invariants of DESIGN §5 are checked once everything settled.
 */
export * from "../../testing/prng.ts";
export * from "./plan.ts";
export * from "./orders.ts";
export * from "./poison.ts";
export * from "./run.ts";
export * from "./report.ts";
