/** PostgreSQL helpers for integration tests: a fresh, migrated database per test. */
import { fileURLToPath } from "node:url";
import {
  closeDb,
  connectDb,
  ensureDatabase,
  runMigrations,
  type Sql,
  type TransactionSql,
} from "../lib/db/mod.ts";
import { testInfra } from "./infra.ts";

/** A throwaway database with every migration applied. */
export interface TestDatabase {
  url: string;
  sql: Sql;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations/", import.meta.url));

/** Creates `test_<random>` next to the configured database and migrates it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { databaseUrl } = await testInfra(["postgres"]);
  const url = new URL(databaseUrl);
  url.pathname = `/test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await ensureDatabase(url.href);
  const sql = connectDb(url.href, { max: 4, applicationName: "sagas-test" });
  await runMigrations(sql, MIGRATIONS_DIR);
  return {
    url: url.href,
    sql,
    async drop() {
      await closeDb(sql);
      const admin = new URL(url.href);
      admin.pathname = "/postgres";
      const maintenance = connectDb(admin.href, { max: 1 });
      try {
        await maintenance`drop database if exists ${
          maintenance(url.pathname.slice(1))
        } with (force)`;
      } finally {
        await closeDb(maintenance);
      }
    },
  };
}

/** Runs `fn` with a fresh migrated database, dropped afterwards. */
export async function withTestDatabase<T>(fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = await createTestDatabase();
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}

/** `tx`, counting the statements sent through it (tagged-template calls). */
export function countingStatements(
  tx: TransactionSql,
): { tx: TransactionSql; sent: () => number } {
  let sent = 0;
  const counted = new Proxy(tx, {
    apply(target, thisArg, args: unknown[]) {
      if (Array.isArray((args[0] as { raw?: unknown } | undefined)?.raw)) sent++;
      return Reflect.apply(target, thisArg, args);
    },
  });
  return { tx: counted, sent: () => sent };
}
