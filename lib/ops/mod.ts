/**
 * Operations endpoints every service exposes on its own port: liveness, readiness with
 * per-dependency checks, and Prometheus metrics.
 *
 * @module
 */
export * from "./server.ts";
export * from "./metrics.ts";
export * from "./checks.ts";
