/**
 * Forward-only SQL migrations: `NNNN_<name>.sql` files applied in number order, each in its own
 * transaction together with its row in `public.schema_migrations`. A whole run holds a
 * PostgreSQL advisory lock, so several processes may run it at once and each file still lands
 * exactly once.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sql } from "./pool.ts";

/** Key of the session advisory lock a migration run holds (fixed; shared by every process). */
export const MIGRATION_LOCK_KEY = 7_305_146_212;

/** A migration file identified by its name alone. */
export interface MigrationFile {
  /** The `NNNN` prefix as a number. */
  version: number;
  /** The `<name>` part, without number and extension. */
  name: string;
  /** The file name, e.g. `0001_create_orders.sql`. */
  fileName: string;
}

/** A migration file with its contents, as read from disk. */
export interface Migration extends MigrationFile {
  /** The SQL to run. */
  sql: string;
  /** Hex SHA-256 of the SQL, line endings normalised to `\n`. */
  checksum: string;
}

/** A row of `public.schema_migrations`. */
export interface AppliedMigration {
  version: number;
  name: string;
  checksum: string;
}

/** What {@linkcode planMigrations} decided: the files still to apply, and how many have landed. */
export interface MigrationPlan {
  pending: Migration[];
  skipped: number;
}

/** What a run of {@linkcode runMigrations} did. */
export interface MigrationResult {
  /** File names applied by this run, in order. */
  applied: string[];
  /** How many files were already applied (by an earlier run or a concurrent one). */
  skipped: number;
}

/** Options for {@linkcode runMigrations}. */
export interface RunMigrationsOptions {
  /** Advisory lock key (default {@linkcode MIGRATION_LOCK_KEY}). */
  lockKey?: number;
}

const FILE_NAME = /^(\d{4})_([a-z0-9][a-z0-9_]*)\.sql$/;

/**
 * Picks the migrations out of a directory listing, sorted by number. Names not ending in `.sql`
 * are ignored; a `.sql` name not shaped `NNNN_<lower_snake_name>.sql` or a number used twice
 * is an error.
 */
export function parseMigrationFileNames(fileNames: readonly string[]): MigrationFile[] {
  const candidates = fileNames.filter((fileName) => /\.sql$/i.test(fileName));
  const malformed = candidates.filter((fileName) => {
    const match = FILE_NAME.exec(fileName);
    return match === null || Number(match[1]) === 0;
  });
  if (malformed.length > 0) {
    throw new SyntaxError(
      `Cannot list migrations: ${quoteAll(malformed)} ${malformed.length === 1 ? "is" : "are"} ` +
        `not named NNNN_<name>.sql (four digits from 0001, then lower-case letters, digits, _)`,
    );
  }
  const files = candidates.map((fileName) => {
    const match = FILE_NAME.exec(fileName)!;
    return { version: Number(match[1]), name: match[2]!, fileName };
  }).sort((a, b) => a.version - b.version || a.fileName.localeCompare(b.fileName));
  const duplicates = files.filter((file, i) => files[i + 1]?.version === file.version);
  if (duplicates.length > 0) {
    const clashes = duplicates.map((file) =>
      quoteAll(files.filter((other) => other.version === file.version).map((f) => f.fileName))
    );
    throw new Error(`Cannot list migrations: duplicate numbers in ${clashes.join("; ")}`);
  }
  return files;
}

/** Hex SHA-256 of a migration's SQL, with `\r\n` normalised to `\n`. */
export function migrationChecksum(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

/** Reads and checksums every migration in `directory`, sorted by number. */
export async function readMigrations(directory: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    throw new Error(`Cannot list migrations in "${directory}": ${describe(error)}`, {
      cause: error,
    });
  }
  const files = parseMigrationFileNames(names);
  return await Promise.all(files.map(async (file) => {
    const sql = await readFile(join(directory, file.fileName), "utf8");
    return { ...file, sql, checksum: migrationChecksum(sql) };
  }));
}

/**
 * Compares the files with what has landed: returns those still to apply. A landed file whose
 * name or checksum changed, or a new file numbered below one that has landed, is an error.
 * Rows with no file (written by a newer release) are left alone.
 */
export function planMigrations(
  files: readonly Migration[],
  applied: readonly AppliedMigration[],
): MigrationPlan {
  const landed = new Map(applied.map((row) => [row.version, row]));
  const pending: Migration[] = [];
  let skipped = 0;
  for (const file of files) {
    const row = landed.get(file.version);
    if (row === undefined) {
      pending.push(file);
    } else if (row.name !== file.name || row.checksum !== file.checksum) {
      const what = row.name !== file.name
        ? `version ${file.version} was applied as "${fileNameOf(row)}"`
        : "its contents changed after it was applied";
      throw new Error(
        `Cannot migrate: "${file.fileName}" does not match the database (${what}); ` +
          `migrations are forward-only, add a new file instead of editing a landed one`,
      );
    } else {
      skipped++;
    }
  }
  const newest = Math.max(0, ...applied.map((row) => row.version));
  const late = pending.filter((file) => file.version < newest);
  if (late.length > 0) {
    throw new Error(
      `Cannot migrate: ${quoteAll(late.map((f) => f.fileName))} ` +
        `${late.length === 1 ? "is" : "are"} numbered below version ${newest}, which has ` +
        `already been applied; renumber after the newest landed migration`,
    );
  }
  return { pending, skipped };
}

/**
 * Applies the pending migrations in `directory` to the database of `sql`, under an advisory
 * lock held on a reserved connection (so a pool of one connection is enough).
 */
export async function runMigrations(
  sql: Sql,
  directory: string,
  options: RunMigrationsOptions = {},
): Promise<MigrationResult> {
  const lockKey = options.lockKey ?? MIGRATION_LOCK_KEY;
  const files = await readMigrations(directory);
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${lockKey}::bigint)`;
    try {
      await conn.unsafe(`
        create table if not exists public.schema_migrations (
          version int primary key,
          name text not null,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`);
      const rows = await conn<AppliedMigration[]>`
        select version, name, checksum from public.schema_migrations order by version`;
      const plan = planMigrations(files, rows);
      const applied: string[] = [];
      for (const migration of plan.pending) {
        await applyOne(conn, migration);
        applied.push(migration.fileName);
      }
      return { applied, skipped: plan.skipped };
    } finally {
      await conn`select pg_advisory_unlock(${lockKey}::bigint)`.catch(() => {
        // The connection is gone, and the lock went with its session.
      });
    }
  } finally {
    conn.release();
  }
}

async function applyOne(conn: Sql, migration: Migration): Promise<void> {
  await conn.unsafe("begin");
  try {
    await conn.unsafe(migration.sql);
    await conn`
      insert into public.schema_migrations (version, name, checksum)
      values (${migration.version}, ${migration.name}, ${migration.checksum})`;
    await conn.unsafe("commit");
  } catch (error) {
    await conn.unsafe("rollback").catch(() => {});
    throw new Error(`Cannot apply migration "${migration.fileName}": ${describe(error)}`, {
      cause: error,
    });
  } finally {
    // A migration's session-level SETs must not leak into the next one or into the pool.
    await conn.unsafe("reset all").catch(() => {});
  }
}

function fileNameOf(row: AppliedMigration): string {
  return `${String(row.version).padStart(4, "0")}_${row.name}.sql`;
}

function quoteAll(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message || (error as { code?: string }).code || error.name;
}
