/** How far a service's outbox is behind, for its metrics and `sagactl stats`. */
import type { Sql } from "../db/mod.ts";

/** An outbox's backlog. */
export interface OutboxBacklog {
  /** Rows still to publish (set-aside rows are not). */
  unpublished: number;
  /** When the oldest of them was written. */
  oldest: Date | null;
  /** Rows Kafka refused for good, set aside by the relay. */
  setAside: number;
}

/** The backlog of `<schema>.outbox`. */
export async function readOutboxBacklog(sql: Sql, schema: string): Promise<OutboxBacklog> {
  const [row] = await sql<{ n: number; oldest: Date | null; set_aside: number }[]>`
    select count(*) filter (where set_aside_at is null)::int as n,
      min(created_at) filter (where set_aside_at is null) as oldest,
      count(*) filter (where set_aside_at is not null)::int as set_aside
    from ${sql(`${schema}.outbox`)} where published_at is null`;
  return { unpublished: row?.n ?? 0, oldest: row?.oldest ?? null, setAside: row?.set_aside ?? 0 };
}
