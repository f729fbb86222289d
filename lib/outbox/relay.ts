/**
 * The outbox relay: publishes a service's outbox rows to Kafka in id order, then marks them
 * published. It wakes on `NOTIFY` from `writeOutbox` and also polls, so nothing waits long if a
 * notification is missed. One relay per schema publishes at a time (a transaction-scoped
 * advisory lock), which keeps per-order ordering with several replicas running.
 */
import type { Producer } from "kafkajs";
import { sleep } from "../async/mod.ts";
import { type Sql, withTransaction } from "../db/mod.ts";
import { errorMessage } from "../errors/mod.ts";
import { publish } from "../kafka/producer.ts";
import type { Logger } from "../log/mod.ts";
import type { WireRecord } from "../messages/mod.ts";
import { outboxChannel } from "./write.ts";

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
  /** Called with the number of records published by each batch (metrics). */
  onPublished?: (count: number) => void;
}

/** A running relay. */
export interface OutboxRelay {
  /** Publishes everything pending now; resolves with how many records went out. */
  flush(): Promise<number>;
  /** Publishes what is pending, then stops. */
  stop(): Promise<void>;
}

/** Starts relaying `<schema>.outbox` to Kafka. */
export async function startOutboxRelay(options: OutboxRelayOptions): Promise<OutboxRelay> {
  const { sql, schema, log } = options;
  const stopping = new AbortController();
  let wake: (() => void) | null = null;
  const subscription = await sql.listen(outboxChannel(schema), () => wake?.());

  const batchSize = options.batchSize ?? 200;
  const lockKey = `outbox:${schema}`;

  async function publishBatch(): Promise<number> {
    // withTransaction, not sql.begin: the batch waits on Kafka inside the transaction, and a
    // connection lost meanwhile must not let the rest of it run outside (see lib/db).
    return await withTransaction(sql, async (tx) => {
      // The advisory lock and the select in one statement: the lock is an InitPlan, taken once
      // before the scan, which runs only when it was granted (no rows when another relay holds
      // it). `for update` is what keeps this as safe as a select after the lock: the statement's
      // snapshot predates the lock, so rows another relay published and committed in between
      // still look unpublished in it; locking re-reads them, and the recheck of
      // `published_at is null` drops them instead of publishing them twice.
      const rows = await tx<Array<WireRecord & { id: string }>>`
        select id, topic, key, value, headers from ${tx(`${schema}.outbox`)}
        where (select pg_try_advisory_xact_lock(hashtext(${lockKey})))
          and published_at is null
        order by id limit ${batchSize}
        for update`;
      if (rows.length === 0) return 0;
      await publish(options.producer, rows);
      await tx`update ${tx(`${schema}.outbox`)} set published_at = now()
        where id in ${tx(rows.map((row) => row.id))}`;
      return rows.length;
    });
  }

  async function flush(): Promise<number> {
    // A batch smaller than batchSize means nothing else was pending when it was read: stop
    // there rather than end every wake-up with an empty transaction. A row committed after the
    // read wakes the relay again with its own NOTIFY (or the poll picks it up).
    let total = 0;
    for (;;) {
      const count = await publishBatch();
      if (count > 0) options.onPublished?.(count);
      total += count;
      if (count === 0 || count < batchSize) return total;
    }
  }

  const loop = (async () => {
    const pollMs = options.pollIntervalMs ?? 1_000;
    while (!stopping.signal.aborted) {
      // Armed before the flush: NOTIFYs arriving while it runs all resolve this one promise, so
      // any number of them costs one more flush afterwards, not one each.
      const woken = new Promise<void>((resolve) => (wake = resolve));
      let failed = false;
      try {
        await flush();
      } catch (error) {
        failed = true;
        log.warn("Outbox relay could not publish; will retry", {
          schema,
          error: errorMessage(error),
        });
      }
      // After a failure, wait out the poll interval even if new rows notify: no hot loop while
      // Kafka or PostgreSQL is away.
      const pause = sleep(pollMs, stopping.signal);
      await (failed ? pause : Promise.race([woken, pause])).catch(() => {});
    }
  })();

  return {
    flush,
    async stop() {
      stopping.abort();
      wake?.();
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
