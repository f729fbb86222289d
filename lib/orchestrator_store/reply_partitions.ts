/**
 * Step deadlines count only while some orchestrator replica reads the step's reply partition
 * (DESIGN §4). Each replica records, in `orchestrator.reply_partitions`, the reply partitions it
 * is assigned and when it last fetched them (`recordReplyReads`); a saga's deadline has passed
 * only once its reply partition was read after it (`lockDueSagas` in sagas.ts). A partition
 * that nobody read for more than `holdAfterMs` held its deadlines meanwhile: whoever reads it
 * again pushes the deadlines (and give-up horizons) of the sagas waiting on it forward by the
 * time nobody did, in the same transaction, so a held period does not count.
 */
import type { TransactionSql } from "../db/mod.ts";
import type { Topic } from "../messages/mod.ts";
import type { Phase } from "../saga/mod.ts";

/** Where the replies to one part of a step of one saga type arrive. */
export interface ReplyRoute {
  sagaType: string;
  step: number;
  phase: Phase;
  topic: Topic;
}

/** What deadlines held per reply partition need: each step part's reply topic, and its size. */
export interface ReplyPartitioning {
  routes: readonly ReplyRoute[];
  /** Partitions of each reply topic; a route whose topic is missing holds its deadlines. */
  partitions: ReadonlyMap<string, number>;
}

/** A partition of a reply topic that a replica read. */
export interface ReplyRead {
  topic: string;
  partition: number;
}

/** Options of `recordReplyReads`. */
export interface RecordReplyReadsOptions {
  /** The reply partitions the replica is assigned. */
  reads: readonly ReplyRead[];
  /** When the replica last completed a fetch (since it was assigned them). */
  readAt: Date;
  /** The replica, for operators: host and process id. */
  reader: string;
  partitioning: ReplyPartitioning;
  /** A partition unread for longer than this held its deadlines (default 3 s). */
  holdAfterMs?: number;
}

/** Default of `RecordReplyReadsOptions.holdAfterMs`: about three refreshes missed. */
export const HOLD_AFTER_MS = 3_000;

/**
 * Records that a replica read `reads` at `readAt` and, for each partition nobody had read for
 * longer than `holdAfterMs`, pushes the deadlines and horizons of the sagas waiting on it forward
 * by that gap. Returns the partitions resumed so, with the gap each had.
 */
export async function recordReplyReads(
  tx: TransactionSql,
  options: RecordReplyReadsOptions,
): Promise<Array<ReplyRead & { heldMs: number }>> {
  if (options.reads.length === 0) return [];
  const topics = options.reads.map((read) => read.topic);
  const partitions = options.reads.map((read) => read.partition);
  // Locked in key order, so replicas recording overlapping partitions cannot deadlock; a gap is
  // seen and closed by one of them only.
  const previous = await tx<{ topic: string; partition: number; read_at: Date }[]>`
    select p.topic, p.partition, p.read_at from orchestrator.reply_partitions p
    join unnest(${topics}::text[], ${partitions}::int[]) as r(topic, partition)
      using (topic, partition)
    order by p.topic, p.partition
    for update of p`;
  await tx`
    insert into orchestrator.reply_partitions as p (topic, partition, read_at, read_by)
    select topic, partition, ${options.readAt}, ${options.reader}
    from unnest(${topics}::text[], ${partitions}::int[]) as r(topic, partition)
    on conflict (topic, partition) do update
      set read_at = excluded.read_at, read_by = excluded.read_by
      where p.read_at < excluded.read_at`;
  const holdAfterMs = options.holdAfterMs ?? HOLD_AFTER_MS;
  const resumed = previous
    .map((row) => ({
      topic: row.topic,
      partition: row.partition,
      heldFrom: row.read_at,
      heldMs: options.readAt.getTime() - row.read_at.getTime(),
    }))
    .filter((gap) => gap.heldMs > holdAfterMs);
  if (resumed.length === 0) return [];
  const routes = knownRoutes(options.partitioning);
  await tx`
    update orchestrator.sagas s set
      deadline_at = s.deadline_at + (${options.readAt}::timestamptz - g.held_from),
      pending_first_sent_at = s.pending_first_sent_at + (${options.readAt}::timestamptz - g.held_from),
      updated_at = now()
    from unnest(${resumed.map((g) => g.topic)}::text[], ${resumed.map((g) => g.partition)}::int[],
        ${resumed.map((g) => g.heldFrom.toISOString())}::timestamptz[])
      as g(topic, partition, held_from),
      unnest(${routes.types}::text[], ${routes.steps}::int[], ${routes.phases}::text[],
        ${routes.topics}::text[], ${routes.partitions}::int[])
        as r(saga_type, step, phase, topic, partitions)
    where r.topic = g.topic and s.saga_type = r.saga_type and s.pending_step = r.step
      and s.pending_phase = r.phase
      and s.key_hash % r.partitions = g.partition and s.deadline_at > g.held_from`;
  return resumed.map(({ topic, partition, heldMs }) => ({ topic, partition, heldMs }));
}

/** The routes whose topic's partition count is known, as the arrays SQL takes. */
export function knownRoutes(partitioning: ReplyPartitioning): {
  types: string[];
  steps: number[];
  phases: string[];
  topics: string[];
  partitions: number[];
} {
  const known = partitioning.routes.flatMap((route) => {
    const partitions = partitioning.partitions.get(route.topic);
    return partitions === undefined ? [] : [{ ...route, partitions }];
  });
  return {
    types: known.map((route) => route.sagaType),
    steps: known.map((route) => route.step),
    phases: known.map((route) => route.phase),
    topics: known.map((route) => route.topic),
    partitions: known.map((route) => route.partitions),
  };
}
