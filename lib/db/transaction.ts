/**
 * One typed way to run a transaction: `sql.begin` with its options spelled out as a type, and a
 * plain `Promise<T>` result (postgres.js types `begin` as `UnwrapPromiseArray<T>`).
 */
import type { Sql, TransactionSql } from "./pool.ts";

/** Isolation levels PostgreSQL implements. */
export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

const ISOLATION_LEVELS: readonly string[] = ["read committed", "repeatable read", "serializable"];

/** Options for {@linkcode withTransaction}. */
export interface TransactionOptions {
  /** Isolation level of the transaction (default: the server's, normally read committed). */
  isolation?: IsolationLevel;
  /** Starts the transaction `read only`. */
  readOnly?: boolean;
}

/**
 * Runs `fn` in a transaction on a pooled connection: committed when it resolves, rolled back
 * (and the error rethrown) when it throws. Not for a reserved connection, where
 * postgres.js has no `begin` (whatever its types say).
 */
export async function withTransaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (options.isolation !== undefined && !ISOLATION_LEVELS.includes(options.isolation)) {
    throw new TypeError(
      `Cannot begin transaction: unknown isolation level "${options.isolation}"`,
    );
  }
  if (typeof sql.begin !== "function") {
    throw new TypeError(
      "Cannot begin transaction: a reserved postgres.js connection has no begin, use the pool",
    );
  }
  const modes = [
    options.isolation === undefined ? "" : `isolation level ${options.isolation}`,
    options.readOnly ? "read only" : "",
  ].filter((mode) => mode !== "").join(" ");
  const result = modes === "" ? await sql.begin(fn) : await sql.begin(modes, fn);
  return result as T;
}
