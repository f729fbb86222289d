/**
 * Admission control: new orders wait in Kafka while too many sagas are in progress, so that an
 * overloaded orchestrator spends itself finishing the sagas it started (their replies) instead of
 * starting more. Without it, a backlog of `ORDER_CREATED` is read ahead of the replies, sagas in
 * progress grow without bound, completions collapse, and replies queued past their step deadline
 * turn good orders into compensations. The count is global (PostgreSQL), so replicas share it.
 */
import { sleep } from "../../lib/async/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { errorMessage } from "../../lib/errors/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { countOpenSagas } from "../../lib/orchestrator_store/mod.ts";

/** What to do with the orders topic. */
export type Admission = "pause" | "resume" | "keep";

/** Resumes below this share of the limit: a little slack, so that it does not flap. */
export const RESUME_BELOW = 0.9;

/** Pauses at `limit` sagas in progress; resumes once below `RESUME_BELOW` of it. */
export function decideAdmission(inProgress: number, limit: number, paused: boolean): Admission {
  if (!paused && inProgress >= limit) return "pause";
  if (paused && inProgress < limit * RESUME_BELOW) return "resume";
  return "keep";
}

/** Options of `startAdmissionControl`. */
export interface AdmissionOptions {
  sql: Sql;
  log: Logger;
  /** Sagas in progress at which new orders stop being read. */
  limit: number;
  intervalMs: number;
  consumer: { pause(topic: string): void; resume(topic: string): void };
  /** The topic of new orders. */
  topic: string;
  /** Called with every count (metrics). */
  onCount?: (inProgress: number, paused: boolean) => void;
}

/** Checks the count every `intervalMs` and pauses or resumes the orders topic. */
export function startAdmissionControl(options: AdmissionOptions): { stop(): Promise<void> } {
  const stopping = new AbortController();
  let paused = false;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const inProgress = await countOpenSagas(options.sql);
        const admission = decideAdmission(inProgress, options.limit, paused);
        if (admission === "pause") {
          options.log.warn("Too many sagas in progress: new orders wait", {
            inProgress,
            limit: options.limit,
          });
        } else if (admission === "resume") {
          options.consumer.resume(options.topic);
          options.log.info("Sagas in progress below the limit: reading new orders again", {
            inProgress,
            limit: options.limit,
          });
        }
        if (admission !== "keep") paused = admission === "pause";
        // Every time, not once: a consumer restarted after a crash has forgotten its pauses.
        if (paused) options.consumer.pause(options.topic);
        options.onCount?.(inProgress, paused);
      } catch (error) {
        options.log.warn("Cannot count sagas in progress; will retry", {
          error: errorMessage(error),
        });
      }
      await sleep(options.intervalMs, stopping.signal).catch(() => {});
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
