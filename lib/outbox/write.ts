/** Writing to a service's outbox, inside the transaction that changes its state. */
import type { TransactionSql } from "../db/mod.ts";
import type { WireRecord } from "../messages/mod.ts";

/** The `LISTEN` channel a relay of `schema` wakes on. */
export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

/** Appends records to `<schema>.outbox` and wakes the relay when the transaction commits. */
export async function writeOutbox(
  tx: TransactionSql,
  schema: string,
  records: readonly WireRecord[],
): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map((record) => ({
    topic: record.topic,
    key: record.key,
    value: record.value,
    headers: record.headers,
  }));
  // One statement, one round trip: the insert, then the NOTIFY only if it inserted rows. The
  // notification is still delivered at commit, and not at all if the transaction rolls back.
  await tx`
    with inserted as (
      insert into ${tx(`${schema}.outbox`)} ${tx(rows, "topic", "key", "value", "headers")}
      returning 1
    )
    select pg_notify(${outboxChannel(schema)}, '') where exists (select from inserted)`;
}
