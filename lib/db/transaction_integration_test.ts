import assert from "node:assert/strict";
import { testInfra } from "../../testing/infra.ts";
import { closeDb, connectDb, type Sql } from "./pool.ts";
import { waitFor } from "../async/mod.ts";
import { isConnectionLoss, withTransaction } from "./transaction.ts";

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

async function ids(sql: Sql, table = "t"): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`select id from ${sql(table)} order by id`;
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

/** Runs `fn` with a pool of two connections, a second pool to kill backends, and a table. */
async function withKillableConnection(
  fn: (sql: Sql, kill: (pid: number) => Promise<void>, table: string) => Promise<void>,
): Promise<void> {
  const { databaseUrl } = await testInfra(["postgres"]);
  const sql = connectDb(databaseUrl, { max: 2, applicationName: "transaction-test" });
  const admin = connectDb(databaseUrl, { max: 1, applicationName: "transaction-test-admin" });
  const table = `tx_lost_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  try {
    await sql`create table ${sql(table)} (id int primary key)`;
    await fn(sql, async (pid) => {
      await admin`select pg_terminate_backend(${pid})`;
    }, table);
  } finally {
    await sql`drop table if exists ${sql(table)}`.catch(() => {});
    await closeDb(sql);
    await closeDb(admin);
  }
}

Deno.test("withTransaction() rejects when the connection is lost while the callback awaits other work, and sends none of its later queries", async () => {
  await withKillableConnection(async (sql, kill, table) => {
    let resume!: () => void;
    const otherWork = new Promise<void>((resolve) => (resume = resolve));
    let late: Promise<unknown> | undefined;
    const lost = withTransaction(sql, async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await kill(row!.pid);
      await otherWork; // e.g. a Stripe call, still running when the connection went
      late = tx`insert into ${tx(table)} values (1)`;
      await late;
    });
    await assert.rejects(lost, (error) => isConnectionLoss(error));
    resume();
    await waitFor(() => late !== undefined, { description: "the callback to carry on" });
    await assert.rejects(late!, /connection was lost/);
    // The pool works, and the late insert ran nowhere (not outside a transaction either).
    assert.deepEqual(await ids(sql, table), []);
    await withTransaction(sql, (tx) => tx`insert into ${tx(table)} values (2)`.then(() => {}));
    assert.deepEqual(await ids(sql, table), [2]);
  });
});

Deno.test("withTransaction() rejects at once when the connection is lost during a query", async () => {
  await withKillableConnection(async (sql, kill, table) => {
    const started = performance.now();
    const lost = withTransaction(sql, async (tx) => {
      const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await tx`insert into ${tx(table)} values (1)`;
      setTimeout(() => kill(row!.pid), 200);
      await tx`select pg_sleep(10)`;
      await tx`insert into ${tx(table)} values (2)`;
    });
    await assert.rejects(lost, (error) => isConnectionLoss(error));
    assert.ok(performance.now() - started < 5_000, "not after the sleep");
    assert.deepEqual(await ids(sql, table), []);
  });
});

Deno.test("isConnectionLoss() tells a lost connection from an error of the query", () => {
  assert.equal(isConnectionLoss({ code: "CONNECTION_CLOSED" }), true);
  assert.equal(isConnectionLoss({ code: "ECONNRESET" }), true);
  assert.equal(isConnectionLoss({ code: "57P01", severity: "FATAL" }), true);
  assert.equal(isConnectionLoss({ code: "23505", severity: "ERROR" }), false);
  assert.equal(isConnectionLoss(new Error("business rule broken")), false);
  assert.equal(isConnectionLoss(null), false);
});
