/**
 * One typed way to run a transaction: `sql.begin` with its options spelled out as a type, and a
 * plain `Promise<T>` result (postgres.js types `begin` as `UnwrapPromiseArray<T>`).
 *
 * It also contains a flaw of postgres.js 3.4.9 (porsager/postgres#1216): when the connection of
 * a transaction closes (a PostgreSQL restart, a cut connection), `begin` rejects but the
 * callback keeps running. Its next query then goes either to the closed socket (an uncaught
 * TypeError that kills the process) or to the replacement connection the pool opened meanwhile,
 * outside any transaction, possibly inside another caller's; and once the callback settles,
 * postgres.js sends COMMIT or ROLLBACK on that connection too. The chaos tests hit exactly this
 * (a payment handler awaiting Stripe while PostgreSQL restarted, then a consumer that hung for
 * good). So the callback gets a guarded handle: once its transaction is lost, its queries fail
 * without being sent, and its outcome is never handed back to postgres.js.
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
  let lost = false;
  let reportLost!: (error: unknown) => void;
  const connectionLost = new Promise<never>((_, reject) => (reportLost = reject));
  const body = (tx: TransactionSql) =>
    new Promise<T>((resolve, reject) => {
      fn(guardTransaction(tx, () => lost)).then(
        (value) => {
          // A lost transaction's callback must not make postgres.js send COMMIT.
          if (!lost) resolve(value);
        },
        (error) => {
          if (lost) return;
          if (isConnectionLoss(error)) {
            // Nor ROLLBACK, on a connection that is closing or was replaced: the server rolls
            // the transaction back by itself. postgres.js's own promise may never settle then.
            lost = true;
            reportLost(error);
            return;
          }
          reject(error);
        },
      );
    });
  const begun = modes === "" ? sql.begin(body) : sql.begin(modes, body);
  try {
    return await Promise.race([begun, connectionLost]) as T;
  } catch (error) {
    lost = true;
    throw error;
  } finally {
    // Whichever lost the race may reject later: nobody waits for it.
    begun.catch(() => {});
    connectionLost.catch(() => {});
  }
}

const CONNECTION_LOSS_CODES = new Set([
  // postgres.js, when the socket closed or the pool ended
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  // the socket itself
  "ECONNRESET",
  "EPIPE",
]);

/**
 * True when `error` means the transaction's connection is gone (and postgres.js will see it
 * close): a connection error, or a FATAL error from the server (e.g. 57P01, terminating
 * connection due to administrator command), after which the server always closes it.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  return (typeof code === "string" && CONNECTION_LOSS_CODES.has(code)) || severity === "FATAL";
}

/**
 * `tx`, except that once `isLost()` its queries reject with a `CONNECTION_CLOSED` error without
 * reaching postgres.js. Fragments, identifiers and row helpers (`tx(name)`, `tx(rows, …)`) pass.
 */
function guardTransaction(tx: TransactionSql, isLost: () => boolean): TransactionSql {
  return new Proxy(tx, {
    apply(target, thisArg, args: unknown[]) {
      const first = args[0] as { raw?: unknown } | undefined;
      if (isLost() && Array.isArray(first?.raw)) {
        const error = Object.assign(
          new Error("Cannot run a query in a transaction whose connection was lost"),
          { code: "CONNECTION_CLOSED" },
        );
        return Promise.reject(error);
      }
      return Reflect.apply(target, thisArg, args);
    },
  });
}
