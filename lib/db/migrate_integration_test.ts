import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { testInfra } from "../../testing/infra.ts";
import { MIGRATION_LOCK_KEY, runMigrations } from "./migrate.ts";
import { closeDb, connectDb, ensureDatabase, type Sql } from "./pool.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MIGRATE_SCRIPT = fileURLToPath(new URL("../../scripts/migrate.ts", import.meta.url));

/** Replaces the database of a PostgreSQL URL. */
function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.href;
}

function scratchName(): string {
  return `mig_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = connectDb(adminUrl, { max: 1 });
  try {
    await admin`drop database if exists ${admin(name)} with (force)`;
  } finally {
    await closeDb(admin);
  }
}

/** Runs `fn` with a fresh database and a fresh migrations directory holding `files`. */
async function withScratch(
  files: Record<string, string>,
  fn: (scratch: { url: string; dir: string; sql: Sql }) => Promise<void>,
): Promise<void> {
  const { databaseUrl } = await testInfra(["postgres"]);
  const adminUrl = withDatabase(databaseUrl, "postgres");
  const name = scratchName();
  const admin = connectDb(adminUrl, { max: 1 });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await closeDb(admin);
  }
  const dir = await Deno.makeTempDir({ prefix: "migrations_" });
  const url = withDatabase(databaseUrl, name);
  const sql = connectDb(url, { max: 2 });
  try {
    await writeFiles(dir, files);
    await fn({ url, dir, sql });
  } finally {
    await closeDb(sql);
    await Deno.remove(dir, { recursive: true });
    await dropDatabase(adminUrl, name);
  }
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [fileName, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${fileName}`, text);
  }
}

async function schemaSnapshot(sql: Sql): Promise<unknown> {
  const columns = await sql`
    select table_schema, table_name, column_name, data_type
    from information_schema.columns
    where table_schema not in ('pg_catalog', 'information_schema')
    order by 1, 2, 3`;
  const records = await sql`select * from public.schema_migrations order by version`;
  return { columns: [...columns], records: [...records] };
}

async function tableNames(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' order by 1`;
  return rows.map((row) => row.name);
}

async function recordedVersions(sql: Sql): Promise<number[]> {
  const rows = await sql<{ version: number }[]>`
    select version from public.schema_migrations order by version`;
  return rows.map((row) => row.version);
}

/** Waits until `count` sessions wait on the migration lock of the current database. */
async function waitForLockWaiters(sql: Sql, count: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (true) {
    const [row] = await sql<{ waiting: number }[]>`
      select count(*)::int as waiting from pg_locks
      where locktype = 'advisory' and not granted and objsubid = 1
        and database = (select oid from pg_database where datname = current_database())
        and ((classid::bigint << 32) | objid::bigint) = ${MIGRATION_LOCK_KEY}::bigint`;
    if ((row?.waiting ?? 0) >= count) return;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${count} runners to wait on the migration lock`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Holds the migration lock of the database of `url` on its own connection until released. */
async function holdMigrationLock(url: string): Promise<() => Promise<void>> {
  const holder = connectDb(url, { max: 1 });
  await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`;
  return async () => {
    await holder`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`;
    await closeDb(holder);
  };
}

// Applying either of these twice fails: CREATE TABLE without IF NOT EXISTS.
const RACE_FILES = {
  "0001_slow_table.sql":
    "select pg_sleep(0.3);\ncreate table public.raced_a (id int primary key);\n",
  "0002_second_table.sql": "create table public.raced_b (id int primary key);\n",
};

Deno.test("runMigrations() applied twice applies nothing the second time and keeps the schema", async () => {
  await withScratch({
    "0001_orders.sql": "create schema shop;\ncreate table shop.orders (id uuid primary key);\n",
    "0002_items.sql":
      "create table shop.items (order_id uuid references shop.orders, sku text not null);\n",
    "README.md": "not a migration",
  }, async ({ sql, dir }) => {
    const first = await runMigrations(sql, dir);
    assert.deepEqual(first, { applied: ["0001_orders.sql", "0002_items.sql"], skipped: 0 });
    const before = await schemaSnapshot(sql);

    const second = await runMigrations(sql, dir);

    assert.deepEqual(second, { applied: [], skipped: 2 });
    assert.deepEqual(await schemaSnapshot(sql), before);
    const [row] = await sql<{ name: string; checksum: string }[]>`
      select name, checksum from public.schema_migrations where version = 1`;
    assert.equal(row?.name, "orders");
    assert.match(row?.checksum ?? "", /^[0-9a-f]{64}$/);
  });
});

Deno.test("runMigrations() applies only the files added since the last run", async () => {
  await withScratch({ "0001_a.sql": "create table public.a (id int);" }, async ({ sql, dir }) => {
    await runMigrations(sql, dir);
    await writeFiles(dir, { "0002_b.sql": "create table public.b (id int);" });

    const result = await runMigrations(sql, dir);

    assert.deepEqual(result, { applied: ["0002_b.sql"], skipped: 1 });
    assert.deepEqual(await tableNames(sql), ["a", "b", "schema_migrations"]);
  });
});

Deno.test("runMigrations() rejects a landed file whose checksum changed, naming it", async () => {
  await withScratch({
    "0001_a.sql": "create table public.a (id int);",
    "0002_b.sql": "create table public.b (id int);",
  }, async ({ sql, dir }) => {
    await runMigrations(sql, dir);
    await writeFiles(dir, {
      "0002_b.sql": "create table public.b (id int, extra text);",
      "0003_c.sql": "create table public.c (id int);",
    });

    await assert.rejects(
      runMigrations(sql, dir),
      /"0002_b\.sql" does not match the database .*forward-only/,
    );
    assert.deepEqual(await tableNames(sql), ["a", "b", "schema_migrations"]);
    assert.deepEqual(await recordedVersions(sql), [1, 2]);
  });
});

Deno.test("runMigrations() rolls back a failing migration, records nothing for it and keeps earlier ones", async () => {
  await withScratch({
    "0001_good.sql": "create table public.good (id int);",
    "0002_bad.sql": "create table public.half_done (id int);\nselect 1 / 0;\n",
    "0003_after.sql": "create table public.after_bad (id int);",
  }, async ({ sql, dir }) => {
    await assert.rejects(
      runMigrations(sql, dir),
      /^Error: Cannot apply migration "0002_bad\.sql": division by zero$/,
    );
    assert.deepEqual(await tableNames(sql), ["good", "schema_migrations"]);
    assert.deepEqual(await recordedVersions(sql), [1]);

    // Not recorded, so a fixed file is applied by the next run.
    await writeFiles(dir, { "0002_bad.sql": "create table public.half_done (id int);" });
    const retry = await runMigrations(sql, dir);
    assert.deepEqual(retry, { applied: ["0002_bad.sql", "0003_after.sql"], skipped: 1 });
  });
});

Deno.test("runMigrations() does not let a migration's SET leak into the next one", async () => {
  await withScratch({
    "0001_schema.sql": "create schema other;\nset search_path to other;\ncreate table t1 (id int);",
    "0002_next.sql": "create table t2 (id int);",
  }, async ({ sql, dir }) => {
    await runMigrations(sql, dir);
    const rows = await sql<{ schema: string; name: string }[]>`
      select table_schema as schema, table_name as name from information_schema.tables
      where table_name in ('t1', 't2') order by 2`;
    assert.deepEqual(rows.map((r) => `${r.schema}.${r.name}`), ["other.t1", "public.t2"]);
  });
});

Deno.test("runMigrations() applies each file once when two runners race on separate connections", async () => {
  await withScratch(RACE_FILES, async ({ url, dir, sql }) => {
    const release = await holdMigrationLock(url);
    const runners = [connectDb(url, { max: 1 }), connectDb(url, { max: 1 })];
    try {
      const [runs, waited] = await Promise.allSettled([
        Promise.all(runners.map((runner) => runMigrations(runner, dir))),
        waitForLockWaiters(sql, 2, 10_000).finally(release),
      ]);
      if (waited.status === "rejected") throw waited.reason;
      if (runs.status === "rejected") throw runs.reason;
      const results = runs.value;

      const applied = results.flatMap((result) => result.applied).sort();
      assert.deepEqual(applied, Object.keys(RACE_FILES));
      assert.deepEqual(results.map((r) => r.skipped).sort(), [0, 2]);
      assert.deepEqual(await recordedVersions(sql), [1, 2]);
    } finally {
      await Promise.all(runners.map((runner) => closeDb(runner)));
    }
  });
});

Deno.test("scripts/migrate.ts applies each file once when two processes run it at once", async () => {
  await withScratch(RACE_FILES, async ({ url, dir, sql }) => {
    const release = await holdMigrationLock(url);
    const processes = [0, 1].map(() =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MIGRATE_SCRIPT],
        cwd: REPO_ROOT,
        env: { DATABASE_URL: url, MIGRATIONS_DIR: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output()
    );
    // Both processes must be queued on the lock before it is let go: a real race every time.
    const [runs, waited] = await Promise.allSettled([
      Promise.all(processes),
      waitForLockWaiters(sql, 2, 30_000).finally(release),
    ]);
    if (waited.status === "rejected") throw waited.reason;
    if (runs.status === "rejected") throw runs.reason;
    const outputs = runs.value;

    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    for (const output of outputs) {
      assert.equal(output.code, 0, decode(output.stderr));
    }
    const appliedLines = outputs
      .flatMap((output) => decode(output.stdout).split("\n"))
      .filter((line) => line.startsWith("Applied "))
      .sort();
    assert.deepEqual(appliedLines, [
      "Applied 0001_slow_table.sql",
      "Applied 0002_second_table.sql",
    ]);
    assert.deepEqual(await recordedVersions(sql), [1, 2]);
    assert.deepEqual(await tableNames(sql), ["raced_a", "raced_b", "schema_migrations"]);
  });
});

Deno.test("scripts/migrate.ts creates a missing database, then exits 1 with one line on an edited file", async () => {
  const { databaseUrl } = await testInfra(["postgres"]);
  const name = scratchName();
  const url = withDatabase(databaseUrl, name);
  const dir = await Deno.makeTempDir({ prefix: "migrations_" });
  const run = async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MIGRATE_SCRIPT],
      cwd: REPO_ROOT,
      env: { DATABASE_URL: url, MIGRATIONS_DIR: dir, NO_COLOR: "1" },
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  };
  try {
    await writeFiles(dir, { "0001_a.sql": "create table public.a (id int);" });
    const first = await run();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^Created database .*/${name}\n`));
    assert.match(first.stdout, /\nApplied 0001_a\.sql\n.*1 applied, 0 already applied\n$/);

    await writeFiles(dir, { "0001_a.sql": "create table public.a (id bigint);" });
    const second = await run();
    assert.equal(second.code, 1);
    assert.equal(second.stdout, "");
    assert.equal(second.stderr.trimEnd().split("\n").length, 1, second.stderr);
    assert.match(second.stderr, /"0001_a\.sql" does not match the database .*forward-only/);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await dropDatabase(withDatabase(databaseUrl, "postgres"), name);
  }
});

Deno.test("ensureDatabase() creates a missing database exactly once when raced", async () => {
  const { databaseUrl } = await testInfra(["postgres"]);
  const name = scratchName();
  const url = withDatabase(databaseUrl, name);
  try {
    const created = await Promise.all([
      ensureDatabase(url),
      ensureDatabase(url),
      ensureDatabase(url),
    ]);
    assert.equal(created.filter(Boolean).length, 1);
    assert.equal(await ensureDatabase(url), false);
  } finally {
    await dropDatabase(withDatabase(databaseUrl, "postgres"), name);
  }
});
