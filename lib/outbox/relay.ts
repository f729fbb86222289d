/**
 * The outbox relay: publishes a service's outbox rows to Kafka, then marks them published.
 *
 * Two ways in. The hot path: a writer hands the rows its transaction just committed to
 * `publishCommitted`, and the relay sends them right away, queued behind each other in one loop,
 * and marks them in one statement per batch — no transaction and no `NOTIFY` per write. The safety
 * net: rows nobody handed over (a crash between commit and publish, a failed send, a writer in
 * another process such as `sagactl`) are found by a scan in id order, on `NOTIFY` from
 * `writeOutbox` or every poll interval, which one relay per schema runs at a time (a
 * transaction-scoped advisory lock). A poll leaves alone rows younger than `graceMs`, which
 * their writer is still publishing. A row may so be sent twice, never lost: consumers dedupe by
 * event id. Per-order ordering holds because a saga has one command in flight at a time.
 *
 * One bad row blocks nothing (DESIGN §5): a row Kafka refuses for good (too large, invalid) is
 * set aside in the table with the reason (`set_aside_at`, `set_aside_reason`; scans skip it), an
 * `OUTBOX_RECORD_REFUSED` alert goes to `orders.dlq`, and the rows of its batch are published
 * around it, in order, at once. Any other failure (Kafka away, a timeout) keeps every row for the
 * next try, as before.
 */
import type { Producer } from "kafkajs";
import { createWakeup, sleep } from "../async/mod.ts";
import { type Sql, type TransactionSql, withTransaction } from "../db/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import { isRefusedForGood } from "../kafka/errors.ts";
import { publish, publishExceptRefused } from "../kafka/producer.ts";
import type { Logger } from "../log/mod.ts";
import { refusalAlert } from "./refused.ts";
import { outboxChannel, type OutboxRow } from "./write.ts";

/** Options of `startOutboxRelay`. */
export interface OutboxRelayOptions {
  sql: Sql;
  schema: string;
  producer: Producer;
  log: Logger;
  /** Rows per Kafka batch (default 200). */
  batchSize?: number;
  /** Poll interval when no notification comes (default 1 s). */
  pollIntervalMs?: number;
  /** Age below which a poll leaves an unpublished row to its writer (default 2 s). */
  graceMs?: number;
  /** Called with the number of records published by each batch (metrics). */
  onPublished?: (count: number) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Publishes everything pending now; resolves with how many records went out. */
  flush(): Promise<number>;
  /** Publishes rows whose transaction has committed, now, without a scan (see the module doc). */
  publishCommitted(rows: readonly OutboxRow[]): void;
  /** Publishes what is pending, then stops. */
  stop(): Promise<void>;
}

/** What became of a batch's rows: the ids published, and those set aside with the reason. */
interface Outcome {
  published: string[];
  setAside: { id: string; reason: string }[];
}

/** Starts relaying `<schema>.outbox` to Kafka. */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { sql, schema, log } = options;
  const stopping = new AbortController();
  const batchSize = options.batchSize ?? 200;
  const lockKey = `outbox:${schema}`;
  const table = sql(`${schema}.outbox`);
  /** Rows handed over by writers, not yet sent. */
  const queue: OutboxRow[] = [];
  /** Ids of rows handed over and not yet marked: scans leave them alone. */
  const handedOver = new Set<string>();
  let notified = false;
  const wakeup = createWakeup();
  const subscription = await sql.listen(outboxChannel(schema), () => {
    notified = true;
    wakeup.wake();
  });

  /**
   * Sends `rows`, setting aside those Kafka refuses for good: their alerts are sent before the
   * marks are written, so a set-aside row has raised its alert (twice, at worst, after a crash).
   */
  async function sendRows(rows: readonly OutboxRow[]): Promise<Outcome> {
    const refused = await publishExceptRefused(options.producer, rows);
    if (refused.length === 0) return { published: rows.map((row) => row.id), setAside: [] };
    const setAside = refused.map(({ record, reason }) => ({
      row: record,
      reason: `Kafka refused the record for good: ${reason}`,
    }));
    try {
      await publish(
        options.producer,
        setAside.map(({ row, reason }) => refusalAlert(row, { schema, reason })),
      );
    } catch (error) {
      // An alert refused in turn: the rows are set aside all the same, the reason is in them.
      if (!isRefusedForGood(error)) throw error;
      log.error("Kafka refused the alerts of set-aside outbox records", {
        schema,
        error: errorMessage(error),
      });
    }
    for (const { row, reason } of setAside) {
      log.error("Outbox record refused by Kafka for good; set aside with an alert on orders.dlq", {
        schema,
        outboxId: row.id,
        topic: row.topic,
        reason,
      });
    }
    const refusedIds = new Set(setAside.map(({ row }) => row.id));
    return {
      published: rows.filter((row) => !refusedIds.has(row.id)).map((row) => row.id),
      setAside: setAside.map(({ row, reason }) => ({ id: row.id, reason })),
    };
  }

  /** Marks the rows of an outcome published or set aside (`db`: the pool or the batch's transaction). */
  async function mark(db: Sql | TransactionSql, outcome: Outcome): Promise<void> {
    const { published, setAside } = outcome;
    if (published.length > 0) {
      await db`update ${table} set published_at = now() where id = any(${published}::bigint[])`;
    }
    if (setAside.length > 0) {
      await db`update ${table} as o set set_aside_at = now(), set_aside_reason = r.reason
        from unnest(${setAside.map((r) => r.id)}::bigint[], ${
        setAside.map((r) => r.reason)
      }::text[]) as r(id, reason)
        where o.id = r.id and o.published_at is null`;
    }
    if (published.length > 0) options.onPublished?.(published.length);
  }

  /** The marks of the handed-over batch sent last: written while the next batch is sent. */
  let marking: Promise<void> = Promise.resolve();

  /**
   * Sends the handed-over rows, a batch at a time, marking each batch in one statement (two with
   * rows set aside) while the next one is sent: a row handed over during a mark does not wait
   * for that commit. One mark in flight at most.
   */
  async function sendHandedOver(): Promise<number> {
    let total = 0;
    while (queue.length > 0) {
      const batch = queue.splice(0, batchSize);
      let outcome: Outcome;
      try {
        outcome = await sendRows(batch);
      } catch (error) {
        // Left to the scan: still unpublished in the table.
        for (const row of [...batch, ...queue.splice(0)]) handedOver.delete(row.id);
        throw error;
      }
      await marking;
      marking = markHandedOver(batch, outcome);
      total += outcome.published.length;
    }
    return total;
  }

  /** Marks a handed-over batch sent; one not marked is left to the scan (sent again). */
  async function markHandedOver(batch: readonly OutboxRow[], outcome: Outcome): Promise<void> {
    try {
      await mark(sql, outcome);
    } catch (error) {
      log.warn("Outbox relay could not mark records published; a scan sends them again", {
        schema,
        error: errorMessage(error),
      });
    } finally {
      for (const row of batch) handedOver.delete(row.id);
    }
  }

  /**
   * Publishes one batch of unpublished rows at least `minAgeMs` old, in id order; resolves with
   * how many rows it took and how many of them went out.
   */
  async function publishBatch(minAgeMs: number): Promise<{ taken: number; published: number }> {
    // withTransaction, not sql.begin: the batch waits on Kafka inside the transaction, and a
    // connection lost meanwhile must not let the rest of it run outside (see lib/db).
    return await withTransaction(sql, async (tx) => {
      // The advisory lock and the select in one statement: the lock is an InitPlan, taken once
      // before the scan, which runs only when it was granted (no rows when another relay holds
      // it). `for update` is what keeps this as safe as a select after the lock: the statement's
      // snapshot predates the lock, so rows another relay published and committed in between
      // still look unpublished in it; locking re-reads them, and the recheck of
      // `published_at is null` drops them instead of publishing them twice.
      const rows = await tx<OutboxRow[]>`
        select id, topic, key, value, headers from ${table}
        where (select pg_try_advisory_xact_lock(hashtext(${lockKey})))
          and published_at is null
          and set_aside_at is null
          and created_at <= now() - make_interval(secs => ${minAgeMs / 1000})
          and id <> all(${[...handedOver]}::bigint[])
        order by id limit ${batchSize}
        for update`;
      if (rows.length === 0) return { taken: 0, published: 0 };
      const outcome = await sendRows(rows);
      await mark(tx, outcome);
      return { taken: rows.length, published: outcome.published.length };
    });
  }

  /** Scans for unpublished rows at least `minAgeMs` old and publishes them all. */
  async function scan(minAgeMs: number): Promise<number> {
    // A batch smaller than batchSize means nothing else was pending when it was read: stop
    // there rather than end every wake-up with an empty transaction. A row committed after the
    // read wakes the relay again with its own NOTIFY (or the poll picks it up).
    let total = 0;
    for (;;) {
      const { taken, published } = await publishBatch(minAgeMs);
      total += published;
      if (taken === 0 || taken < batchSize) return total;
    }
  }

  async function flush(): Promise<number> {
    const sent = await sendHandedOver();
    await marking;
    return sent + await scan(0);
  }

  const loop = (async () => {
    const pollMs = options.pollIntervalMs ?? 1_000;
    const graceMs = options.graceMs ?? 2_000;
    let scannedAt = 0;
    while (!stopping.signal.aborted) {
      let failed = false;
      try {
        await sendHandedOver();
        if (notified || Date.now() - scannedAt >= pollMs) {
          const minAgeMs = notified ? 0 : graceMs;
          notified = false;
          scannedAt = Date.now();
          await scan(minAgeMs);
        }
      } catch (error) {
        failed = true;
        log.warn("Outbox relay could not publish; will retry", {
          schema,
          error: errorMessage(error),
        });
      }
      // After a failure, wait out the poll interval even if new rows come: no hot loop while
      // Kafka or PostgreSQL is away. Otherwise until rows come (wake-ups during the work count)
      // or the next scan is due.
      if (failed) await sleep(pollMs, stopping.signal).catch(() => {});
      else await wakeup.wait(Math.max(1, scannedAt + pollMs - Date.now()), stopping.signal);
    }
  })();

  return {
    flush,
    publishCommitted(rows) {
      for (const row of rows) handedOver.add(row.id);
      queue.push(...rows);
      wakeup.wake();
    },
    async stop() {
      stopping.abort();
      await loop;
      await subscription.unlisten();
      try {
        await flush();
      } catch (error) {
        log.warn("Outbox relay stopped with records unpublished", {
          schema,
          error: errorMessage(error),
        });
      }
    },
  };
}
