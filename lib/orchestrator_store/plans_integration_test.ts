/**
 * The orchestrator's set-based saga writes probe primary keys however many rows the tables hold:
 * joined only with `jsonb_to_recordset` (which the planner estimates at 100 rows), an update
 * hashes it and scans the whole table, a cost that grows with every order the shop has taken.
 */
import assert from "node:assert/strict";
import type { Sql, TransactionSql } from "../db/mod.ts";
import { withTestDatabase } from "../../testing/db.ts";
import { lockSagas, saveSagas } from "./sagas.ts";

const ROWS = 5_000;

/**
 * Sequential scans of `schema.table` counted by this backend and not yet flushed to the shared
 * statistics (this transaction's, and maybe the last ones'): compare before and after.
 */
async function seqScans(tx: TransactionSql, schema: string, table: string): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    select coalesce(seq_scan, 0)::int as n from pg_stat_xact_user_tables
    where schemaname = ${schema} and relname = ${table}`;
  return row?.n ?? 0;
}

/** `ROWS` orders, each with a saga, as a shop accumulates them; analyzed. */
async function manyOrders(sql: Sql): Promise<string[]> {
  const rows = await sql<{ saga_id: string }[]>`
    with o as (
      insert into orchestrator.orders
        (order_id, customer_id, customer_email, currency, payment_method, total_cents)
      select gen_random_uuid(), gen_random_uuid(), 'a@example.com', 'usd', 'pm_card_visa', 100
      from generate_series(1, ${ROWS})
      returning order_id
    )
    insert into orchestrator.sagas (saga_id, order_id, saga_type, status, key_hash, data)
    select gen_random_uuid(), order_id, 'order', 'IN_PROGRESS', 0, '{}'::jsonb from o
    returning saga_id`;
  await sql`analyze orchestrator.orders`;
  await sql`analyze orchestrator.sagas`;
  return rows.map((row) => row.saga_id);
}

Deno.test("saveSagas() updates sagas and orders by primary key, not by scanning tables of thousands", async () => {
  await withTestDatabase(async ({ sql }) => {
    const ids = await manyOrders(sql);
    // Prepared once and run again, as the orchestrator does: a generic plan must stay a probe.
    for (let run = 0; run < 7; run++) {
      await sql.begin(async (tx) => {
        const sagas = await lockSagas(tx, ids.slice(run * 3, run * 3 + 3));
        const before = [
          await seqScans(tx, "orchestrator", "sagas"),
          await seqScans(tx, "orchestrator", "orders"),
        ];
        await saveSagas(
          tx,
          [...sagas.values()].map(({ state, data }) => ({
            state,
            data,
            domainStatus: "CONFIRMED",
          })),
        );
        assert.deepEqual(
          [
            await seqScans(tx, "orchestrator", "sagas"),
            await seqScans(tx, "orchestrator", "orders"),
          ],
          before,
          `run ${run}: no scan of sagas or orders`,
        );
      });
    }
    const [confirmed] = await sql<{ n: number }[]>`
      select count(*)::int as n from orchestrator.orders where status = 'CONFIRMED'`;
    assert.equal(confirmed!.n, 21);
  });
});
