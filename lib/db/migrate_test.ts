import assert from "node:assert/strict";
import {
  type AppliedMigration,
  type Migration,
  migrationChecksum,
  parseMigrationFileNames,
  planMigrations,
} from "./migrate.ts";

function migration(fileName: string, sql = `-- ${fileName}`): Migration {
  const [file] = parseMigrationFileNames([fileName]);
  assert.ok(file);
  return { ...file, sql, checksum: migrationChecksum(sql) };
}

function landed(m: Migration): AppliedMigration {
  return { version: m.version, name: m.name, checksum: m.checksum };
}

Deno.test("parseMigrationFileNames() sorts by number and parses version and name", () => {
  const files = parseMigrationFileNames([
    "0010_add_refunds.sql",
    "0002_inventory.sql",
    "0001_orchestrator_schema.sql",
  ]);
  assert.deepEqual(files, [
    { version: 1, name: "orchestrator_schema", fileName: "0001_orchestrator_schema.sql" },
    { version: 2, name: "inventory", fileName: "0002_inventory.sql" },
    { version: 10, name: "add_refunds", fileName: "0010_add_refunds.sql" },
  ]);
});

Deno.test("parseMigrationFileNames() ignores names that are not .sql files", () => {
  const files = parseMigrationFileNames(["README.md", ".gitkeep", "0001_a.sql", "0001_a.sql~"]);
  assert.deepEqual(files.map((f) => f.fileName), ["0001_a.sql"]);
});

Deno.test("parseMigrationFileNames() returns nothing for an empty directory", () => {
  assert.deepEqual(parseMigrationFileNames([]), []);
});

Deno.test("parseMigrationFileNames() rejects malformed .sql names, naming each", () => {
  for (
    const bad of [
      "1_init.sql",
      "00001_init.sql",
      "0001-init.sql",
      "0001_.sql",
      "0001_Init.sql",
      "0001_init.SQL",
      "0000_zero.sql",
      "init.sql",
      "0001_in it.sql",
    ]
  ) {
    assert.throws(
      () => parseMigrationFileNames(["0002_ok.sql", bad]),
      (error: unknown) => {
        assert.ok(error instanceof SyntaxError, `${bad}: ${error}`);
        assert.match(error.message, /^Cannot list migrations: /);
        assert.ok(error.message.includes(`"${bad}"`), error.message);
        assert.ok(!error.message.includes("0002_ok.sql"), error.message);
        return true;
      },
    );
  }
});

Deno.test("parseMigrationFileNames() rejects two files with the same number", () => {
  assert.throws(
    () => parseMigrationFileNames(["0001_a.sql", "0002_b.sql", "0002_c.sql", "0003_d.sql"]),
    /^Error: Cannot list migrations: duplicate numbers in "0002_b.sql", "0002_c.sql"$/,
  );
});

Deno.test("migrationChecksum() ignores CRLF versus LF but nothing else", () => {
  assert.equal(migrationChecksum("a;\r\nb;\r\n"), migrationChecksum("a;\nb;\n"));
  assert.notEqual(migrationChecksum("a;\nb;\n"), migrationChecksum("a;\nb; \n"));
  assert.match(migrationChecksum(""), /^[0-9a-f]{64}$/);
});

Deno.test("planMigrations() applies everything on an empty database", () => {
  const files = [migration("0001_a.sql"), migration("0002_b.sql")];
  assert.deepEqual(planMigrations(files, []), { pending: files, skipped: 0 });
});

Deno.test("planMigrations() skips landed files and keeps new ones in order", () => {
  const [a, b, c] = [migration("0001_a.sql"), migration("0002_b.sql"), migration("0005_c.sql")];
  assert.ok(a && b && c);
  assert.deepEqual(planMigrations([a, b, c], [landed(a), landed(b)]), {
    pending: [c],
    skipped: 2,
  });
});

Deno.test("planMigrations() rejects a landed file whose contents changed", () => {
  const a = migration("0001_a.sql", "create table a ();");
  const edited = migration("0001_a.sql", "create table a (id int);");
  assert.throws(
    () => planMigrations([edited], [landed(a)]),
    /"0001_a\.sql" does not match the database \(its contents changed .*forward-only/,
  );
});

Deno.test("planMigrations() rejects a landed version whose file was renamed", () => {
  const a = migration("0001_a.sql", "create table a ();");
  const renamed = migration("0001_renamed.sql", "create table a ();");
  assert.throws(
    () => planMigrations([renamed], [landed(a)]),
    /"0001_renamed\.sql" .*version 1 was applied as "0001_a\.sql".*forward-only/,
  );
});

Deno.test("planMigrations() rejects a new file numbered below a landed one", () => {
  const [a, c] = [migration("0001_a.sql"), migration("0003_c.sql")];
  const late = migration("0002_late.sql");
  assert.throws(
    () => planMigrations([a, late, c], [landed(a), landed(c)]),
    /"0002_late\.sql" is numbered below version 3, which has already been applied/,
  );
});

Deno.test("planMigrations() leaves alone rows that have no file (a newer release's)", () => {
  const a = migration("0001_a.sql");
  const newer = { version: 9, name: "newer", checksum: "x" };
  assert.deepEqual(planMigrations([a], [landed(a), newer]), { pending: [], skipped: 1 });
});
