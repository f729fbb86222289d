/** DLQ records replayed by operators (`orchestrator.dlq_replays`): at most once unless forced. */
import type { Sql, TransactionSql } from "../db/mod.ts";

/** A replay recorded for a DLQ record. */
export interface ReplayMark {
  count: number;
  firstReplayedAt: string;
  lastReplayedAt: string;
  replayedBy: string;
}

/** A replay of one DLQ record, to record. */
export interface DlqReplay {
  /** The DLQ topic as named on the broker (with any namespace). */
  dlqTopic: string;
  partition: number;
  offset: number;
  sourceTopic: string;
  key: string | null;
  /** The DLQ record's timestamp. */
  recordTimestamp: Date;
  replayedBy: string;
  replayedAt: Date;
}

/** Replay marks of these records of the DLQ topic, by `<partition>:<offset>`. */
export async function readReplayMarks(
  sql: Sql,
  topic: string,
  records: readonly { partition: number; offset: number }[],
): Promise<Map<string, ReplayMark>> {
  if (records.length === 0) return new Map();
  const rows = await sql<
    {
      dlq_partition: number;
      dlq_offset: string;
      replay_count: number;
      first_replayed_at: Date;
      last_replayed_at: Date;
      replayed_by: string;
    }[]
  >`
    select dlq_partition, dlq_offset, replay_count, first_replayed_at, last_replayed_at,
      replayed_by
    from orchestrator.dlq_replays
    where dlq_topic = ${topic}
      and (dlq_partition, dlq_offset) in (
        select * from unnest(${records.map((r) => r.partition)}::int[],
          ${records.map((r) => r.offset)}::bigint[]))`;
  return new Map(rows.map((row) => [`${row.dlq_partition}:${row.dlq_offset}`, {
    count: row.replay_count,
    firstReplayedAt: row.first_replayed_at.toISOString(),
    lastReplayedAt: row.last_replayed_at.toISOString(),
    replayedBy: row.replayed_by,
  }]));
}

/** How many records of the DLQ topic were replayed. */
export async function countReplays(sql: Sql, topic: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from orchestrator.dlq_replays where dlq_topic = ${topic}`;
  return row?.n ?? 0;
}

/** Records the first replay of a DLQ record; false, writing nothing, when it was replayed before. */
export async function insertReplay(tx: TransactionSql, replay: DlqReplay): Promise<boolean> {
  const [inserted] = await tx`
    insert into orchestrator.dlq_replays
      (dlq_topic, dlq_partition, dlq_offset, source_topic, record_key, record_timestamp,
       replayed_by, first_replayed_at, last_replayed_at)
    values (${replay.dlqTopic}, ${replay.partition}, ${replay.offset}, ${replay.sourceTopic},
      ${replay.key}, ${replay.recordTimestamp}, ${replay.replayedBy}, ${replay.replayedAt},
      ${replay.replayedAt})
    on conflict do nothing
    returning dlq_offset`;
  return inserted !== undefined;
}

/** Records one more replay of a DLQ record replayed before. */
export async function recordReplayAgain(tx: TransactionSql, replay: DlqReplay): Promise<void> {
  await tx`
    update orchestrator.dlq_replays
    set replay_count = replay_count + 1, last_replayed_at = ${replay.replayedAt},
      replayed_by = ${replay.replayedBy}
    where dlq_topic = ${replay.dlqTopic} and dlq_partition = ${replay.partition}
      and dlq_offset = ${replay.offset}`;
}
