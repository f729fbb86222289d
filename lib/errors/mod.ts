/**
 * The three kinds of failure the system tells apart (DESIGN §5):
 *
 * - a **business outcome** (no stock, card declined) is not an error at all: it becomes a failure
 *   reply; `BusinessRuleError` carries one across a function boundary when that is clearer;
 * - **malformed input** can never succeed: `MalformedMessageError` sends the record to the DLQ
 *   without retry;
 * - an **infrastructure fault** (database or broker unreachable) may pass: it is retried, never
 *   dropped. `isInfrastructureFault()` recognises the ones our clients raise.
 */

/** A record that can never be handled: unparseable, wrong shape, or inconsistent. */
export class MalformedMessageError extends Error {
  /** Builds the error; `message` says what was wrong, in sentence case. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MalformedMessageError";
  }
}

/** A business rule said no; callers turn it into a failure reply with `code` and `reason`. */
export class BusinessRuleError extends Error {
  /** Machine-readable failure code, e.g. `insufficient_stock`. */
  readonly code: string;

  /** Builds the error from a failure code and a human reason. */
  constructor(code: string, reason: string) {
    super(reason);
    this.name = "BusinessRuleError";
    this.code = code;
  }
}

/** A dependency (database, broker, cache, HTTP API) failed in a way that may pass on retry. */
export class InfrastructureError extends Error {
  /** Builds the error; keep the original as `cause`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InfrastructureError";
  }
}

/** A configuration value is missing or malformed; the message names the variable. */
export class ConfigError extends Error {
  /** Builds the error; `message` is the one line printed before the process exits. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  // postgres.js connection errors
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

// SQLSTATE classes and codes that mean "try again": connection exceptions, operator
// intervention (server shutting down), insufficient resources, serialization failure, deadlock.
const TRANSIENT_SQLSTATE_PREFIXES = ["08", "57P", "53"];
const TRANSIENT_SQLSTATES = new Set(["40001", "40P01"]);

/** True when `error` is a fault of the infrastructure that a later retry may get past. */
export function isInfrastructureFault(error: unknown): boolean {
  if (error instanceof InfrastructureError) return true;
  if (typeof error !== "object" || error === null) return false;
  const { code, name, retriable } = error as {
    code?: unknown;
    name?: unknown;
    retriable?: unknown;
  };
  if (typeof code === "string") {
    if (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && TRANSIENT_SQLSTATE_PREFIXES.some((p) => code.startsWith(p))) {
      return true;
    }
  }
  // kafkajs marks its own transient failures as retriable.
  if (typeof name === "string" && name.startsWith("Kafka") && retriable === true) return true;
  return false;
}

/** The error's message, or its string form when it is not an Error. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
