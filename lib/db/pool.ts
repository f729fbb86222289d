/**
 * The PostgreSQL connection pool every service and script shares: postgres.js, configured once.
 *
 * The pool is lazy: nothing connects until the first query, so a service starts while the
 * database is down and reports it through its readiness check instead of crashing.
 */
import postgres from "postgres";

/** A postgres.js pool (or reserved connection) as returned by {@linkcode connectDb}. */
export type Sql = postgres.Sql;

/** A postgres.js transaction handle, as passed to the callback of {@linkcode withTransaction}. */
export type TransactionSql = postgres.TransactionSql;

/** Options for {@linkcode connectDb}. */
export interface ConnectDbOptions {
  /** Maximum connections in the pool (default 10). */
  max?: number;
  /** `application_name` shown in `pg_stat_activity` (default `"sagas"`). */
  applicationName?: string;
  /** Seconds to wait for a new connection before failing (default 10). */
  connectTimeoutSeconds?: number;
  /** Seconds an idle connection stays open before it is closed (default 60; 0 keeps it). */
  idleTimeoutSeconds?: number;
}

/** Creates a lazy connection pool to `url`, with server notices silenced. */
export function connectDb(url: string, options: ConnectDbOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 60,
    onnotice: ignoreNotice,
    connection: { application_name: options.applicationName ?? "sagas" },
  });
}

/** Options for {@linkcode closeDb}. */
export interface CloseDbOptions {
  /** Seconds to let running queries finish before connections are cut (default 5). */
  timeoutSeconds?: number;
}

/** Closes every connection of the pool, waiting at most `timeoutSeconds` for running queries. */
export async function closeDb(sql: Sql, options: CloseDbOptions = {}): Promise<void> {
  await sql.end({ timeout: options.timeoutSeconds ?? 5 });
}

/** Creates the database named in `url` when it does not exist yet (safe to race with others). */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (name === "") throw new TypeError("Cannot ensure database: the URL names no database");
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const sql = connectDb(maintenance.href, { max: 1, applicationName: "sagas-migrate" });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length > 0) return false;
    try {
      await sql`create database ${sql(name)}`;
      return true;
    } catch (error) {
      // Another process created it between our look-up and our CREATE.
      if (isDuplicateDatabase(error)) return false;
      throw error;
    }
  } finally {
    await closeDb(sql);
  }
}

function isDuplicateDatabase(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // 42P04 duplicate_database; 23505 when both CREATEs reach the catalog's unique index.
  return code === "42P04" || code === "23505";
}

function ignoreNotice(): void {}
