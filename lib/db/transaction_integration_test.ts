import assert from "node:assert/strict";
import { testInfra } from "../testing/infra.ts";
import { closeDb, connectDb, type Sql } from "./pool.ts";
import { withTransaction } from "./transaction.ts";

/** Runs `fn` on a one-connection pool holding an empty temporary table `t`. */
async function withTempTable(fn: (sql: Sql) => Promise<void>): Promise<void> {
  const { databaseUrl } = await testInfra(["postgres"]);
  const sql = connectDb(databaseUrl, { max: 1, applicationName: "transaction-test" });
  try {
    await sql`create temporary table t (id int primary key)`;
    await fn(sql);
  } finally {
    await closeDb(sql);
  }
}

async function ids(sql: Sql): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`select id from t order by id`;
  return rows.map((row) => row.id);
}

Deno.test("withTransaction() commits and returns the callback's value when it resolves", async () => {
  await withTempTable(async (sql) => {
    const result = await withTransaction(sql, async (tx) => {
      await tx`insert into t values (1), (2)`;
      return ["done", 2] as const;
    });
    assert.deepEqual(result, ["done", 2]);
    assert.deepEqual(await ids(sql), [1, 2]);
  });
});

Deno.test("withTransaction() rolls back everything and rethrows when the callback throws", async () => {
  await withTempTable(async (sql) => {
    const failure = new Error("business rule broken");
    await assert.rejects(
      withTransaction(sql, async (tx) => {
        await tx`insert into t values (1)`;
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.deepEqual(await ids(sql), []);
  });
});

Deno.test("withTransaction() applies the isolation level and read-only mode asked for", async () => {
  await withTempTable(async (sql) => {
    const settings = (options: Parameters<typeof withTransaction>[2]) =>
      withTransaction(sql, async (tx) => {
        const [row] = await tx<{ isolation: string; readOnly: string }[]>`
          select current_setting('transaction_isolation') as isolation,
                 current_setting('transaction_read_only') as "readOnly"`;
        return row;
      }, options);

    assert.deepEqual(await settings({}), { isolation: "read committed", readOnly: "off" });
    assert.deepEqual(await settings({ isolation: "serializable" }), {
      isolation: "serializable",
      readOnly: "off",
    });
    assert.deepEqual(await settings({ isolation: "repeatable read", readOnly: true }), {
      isolation: "repeatable read",
      readOnly: "on",
    });
    // Temporary tables stay writable in a read-only transaction; catalogs do not.
    await assert.rejects(
      withTransaction(sql, async (tx) => {
        await tx`create temporary table u (id int)`;
        await tx`create schema read_only_must_refuse`;
      }, { readOnly: true }),
      /read-only transaction/,
    );
  });
});

Deno.test("withTransaction() rejects an unknown isolation level before touching the database", async () => {
  const sql = connectDb("postgres://postgres@127.0.0.1:1/none", { max: 1 });
  try {
    await assert.rejects(
      // @ts-expect-error: a level PostgreSQL does not have, as untyped callers could pass
      withTransaction(sql, () => Promise.resolve(), { isolation: "read uncommitted; drop" }),
      /^TypeError: Cannot begin transaction: unknown isolation level "read uncommitted; drop"$/,
    );
  } finally {
    await closeDb(sql);
  }
});
