/**
 * Group handling: the chunks a consumer hands over at the same time — the partitions of one
 * fetch, which kafkajs hands over concurrently — handled by one call of the handler (for a
 * service, one transaction and one commit instead of one per partition). Each caller's records
 * stay in order, after those of the callers before it; a handler of chunks of many orders is
 * indifferent to which partition a record came from. If the merged chunk fails, each caller's
 * chunk is handled again on its own, so a poison record fails its own partition's chunk only.
 */
import { setImmediate } from "node:timers";
import type { BatchHandler } from "./consumer.ts";
import type { ConsumedRecord } from "./records.ts";

interface Waiting {
  records: readonly ConsumedRecord[];
  context: { signal: AbortSignal };
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * `handler`, with the chunks handed over while it is idle or busy merged into one call: the
 * calls of one turn of the event loop (a fetch's partitions) and those that came during the call
 * before go together, up to `maxRecords` records in all (a larger chunk goes on its own).
 */
export function coalescing(handler: BatchHandler, options: { maxRecords: number }): BatchHandler {
  let waiting: Waiting[] = [];
  let running = false;

  function schedule(): void {
    if (running || waiting.length === 0) return;
    running = true;
    // Once the callbacks of this turn have run: the other partitions of the fetch are handed over
    // by then (a timer would wait a millisecond or more: one per hop of every saga).
    setImmediate(() => void runGroups());
  }

  async function runGroups(): Promise<void> {
    const taken = waiting;
    waiting = [];
    try {
      await Promise.all(groupsOf(taken, options.maxRecords).map(runGroup));
    } finally {
      running = false;
      schedule();
    }
  }

  return (records, context) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ records, context, resolve, reject });
      schedule();
    });

  /** The handler's outcome as a promise, a synchronous throw (e.g. a record not decoded) too. */
  async function handle(records: readonly ConsumedRecord[], context: Waiting["context"]) {
    return await handler(records, context);
  }

  async function runGroup(group: readonly Waiting[]): Promise<void> {
    if (group.length > 1) {
      try {
        await handle(group.flatMap((w) => w.records), group[0]!.context);
        for (const w of group) w.resolve();
        return;
      } catch {
        // Which chunk failed is unknown: each is handled again on its own, below.
      }
    }
    // Every caller settles, whatever the handler does: one left pending stalls its consumer.
    await Promise.all(group.map((w) => handle(w.records, w.context).then(w.resolve, w.reject)));
  }
}

/** The callers in order, in groups of at most `maxRecords` records (a larger chunk alone). */
function groupsOf(waiting: readonly Waiting[], maxRecords: number): Waiting[][] {
  const groups: Waiting[][] = [];
  let size = Infinity;
  for (const w of waiting) {
    if (size + w.records.length > maxRecords) {
      groups.push([]);
      size = 0;
    }
    groups.at(-1)!.push(w);
    size += w.records.length;
  }
  return groups;
}
