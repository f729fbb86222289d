/** Writing to a service's outbox, inside the transaction that changes its state. */
import type { TransactionSql } from "../db/mod.ts";
import type { WireRecord } from "../messages/mod.ts";

/** The `LISTEN` channel a relay of `schema` wakes on. */
export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

/** A row of a service's outbox: the record and its id (its place in the publishing order). */
export interface OutboxRow extends WireRecord {
  id: string;
}

/** Options of `writeOutbox`. */
export interface WriteOutboxOptions {
  /**
   * Wake every relay of the schema with a `NOTIFY` at commit (default true). A writer that hands
   * the rows to its own relay's `publishCommitted` after the commit leaves it off: PostgreSQL
   * wakes every listening backend of the database for each notification, whatever its channel.
   */
  notify?: boolean;
}

/** Appends records to `<schema>.outbox` in the caller's transaction; returns the rows written. */
export async function writeOutbox(
  tx: TransactionSql,
  schema: string,
  records: readonly WireRecord[],
  options: WriteOutboxOptions = {},
): Promise<OutboxRow[]> {
  if (records.length === 0) return [];
  const rows = records.map((record) => ({
    topic: record.topic,
    key: record.key,
    value: record.value,
    headers: record.headers,
  }));
  // One statement either way, of one shape whatever the number of rows (postgres.js prepares
  // each distinct statement once per connection and keeps it). Rows are inserted in their
  // order, so their ids, sorted, pair up with `records`. The NOTIFY is delivered at commit, and
  // not at all if the transaction rolls back.
  const inserted = await tx<{ id: string }[]>`
    with inserted as (
      insert into ${tx(`${schema}.outbox`)} (topic, key, value, headers)
      select topic, key, value, headers from rows from (
        jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb)
          as (topic text, key text, value text, headers jsonb)
      ) with ordinality as r(topic, key, value, headers, n)
      order by n
      returning id
    ), woken as (
      select pg_notify(${outboxChannel(schema)}, '') where ${options.notify ?? true}::boolean
    )
    select id from inserted left join woken on true order by id`;
  return inserted.map((row, index) => ({ ...records[index]!, id: row.id }));
}
