/**
 * What the console reads and does, over the CLI's own read models and actions (saga_view,
 * stats_command, dlq_view, dlq_replay, saga_retry) and lib's stores (orchestrator_store,
 * inventory): no query or rule of its own.
 */
import { listProducts } from "../../lib/inventory/mod.ts";
import { readOrder } from "../../lib/orchestrator_store/mod.ts";
import type { SagaStatus } from "../../lib/saga/mod.ts";
import type { CliContext } from "../context.ts";
import { type ReplayJson, runReplays } from "../dlq_replay.ts";
import {
  type DlqListJson,
  type DlqRecordDetailJson,
  readDlqList,
  readDlqRecord,
} from "../dlq_view.ts";
import { planRetry, planText, type RetryJson, retryNow } from "../saga_retry.ts";
import { findSaga, listSagas, readTimeline, requireSaga, type SagaJson } from "../saga_view.ts";
import { readStats } from "../stats_command.ts";
import type { SagaEventHub } from "./events.ts";
import type { ProductName, SagaPageView } from "./pages.ts";

/** A DLQ record's place: partition and offset. */
export interface DlqRef {
  partition: number;
  offset: number;
}

/** The console's reads and actions. */
export interface ConsoleBackend {
  /** Who actions are recorded as: `operator:<USER>`, as the CLI. */
  actor(): string;
  now(): Date;
  sagaList(filter: { statuses: readonly SagaStatus[]; id: string | null; limit: number }): Promise<{
    sagas: SagaJson[];
    counts: Record<SagaStatus, number>;
  }>;
  /** A saga by saga id or order id, with its order and timeline; null when there is none. */
  saga(id: string): Promise<Omit<SagaPageView, "now" | "notice"> | null>;
  /** The saga a retry would act on, and the plan in words; throws what `saga retry` refuses. */
  retryPlan(id: string): Promise<{ saga: SagaJson; plan: string }>;
  /** Retries the saga as `saga retry <id>` does; throws what it refuses. */
  retry(sagaId: string): Promise<RetryJson>;
  dlqList(options: { type: string | null; limit: number }): Promise<{
    list: DlqListJson;
    warnings: string[];
  }>;
  dlqRecord(ref: DlqRef): Promise<{ record: DlqRecordDetailJson; warnings: string[] }>;
  /** A dry run of `dlq replay <ref>`; throws what it refuses. */
  replayPlan(ref: DlqRef): Promise<ReplayJson>;
  /** `dlq replay <ref>`; throws what it refuses or what failed. */
  replay(ref: DlqRef): Promise<ReplayJson>;
  events: SagaEventHub;
}

/** The backend over a sagactl context. */
export function contextBackend(ctx: CliContext, events: SagaEventHub): ConsoleBackend {
  async function replayOnce(ref: DlqRef, dryRun: boolean): Promise<ReplayJson> {
    const { replays, failures } = await runReplays(ctx, {
      refs: [ref],
      all: false,
      dryRun,
      force: false,
    });
    if (failures.length > 0) {
      throw new Error(`Cannot replay ${failures.length} record(s): ${failures.join("; ")}`);
    }
    return replays[0]!;
  }
  return {
    actor: () => ctx.actor(),
    now: () => ctx.now(),
    events,
    async sagaList(filter) {
      const sql = await ctx.db();
      const stats = await readStats(sql, ctx.now());
      let sagas: SagaJson[];
      if (filter.id !== null) {
        const found = await findSaga(sql, filter.id);
        sagas = found === null ? [] : [found];
      } else {
        sagas = await listSagas(sql, {
          ...(filter.statuses.length === 0 ? {} : { statuses: filter.statuses }),
          limit: filter.limit,
          needsOperatorFirst: true,
        });
      }
      if (filter.statuses.length > 0) {
        sagas = sagas.filter((s) => filter.statuses.includes(s.status));
      }
      return { sagas, counts: stats.sagas.byStatus };
    },
    async saga(id) {
      const sql = await ctx.db();
      const saga = await findSaga(sql, id);
      if (saga === null) return null;
      const [order, timeline, products] = await Promise.all([
        readOrder(sql, saga.orderId),
        readTimeline(sql, saga.sagaId),
        listProducts(sql),
      ]);
      return {
        saga,
        order,
        timeline,
        products: new Map<string, ProductName>(
          products.map((p) => [p.productId, { sku: p.sku, name: p.name }]),
        ),
      };
    },
    async retryPlan(id) {
      const saga = await requireSaga(await ctx.db(), id);
      return { saga, plan: planText(saga, await planRetry(ctx, saga.sagaId)) };
    },
    async retry(sagaId) {
      // The engine refuses what cannot be retried: retryNow throws its reason.
      const saga = await requireSaga(await ctx.db(), sagaId);
      return await retryNow(ctx, saga.sagaId);
    },
    async dlqList(options) {
      const warnings: string[] = [];
      const list = await readDlqList(ctx, {
        limit: options.limit,
        ...(options.type === null ? {} : { type: options.type }),
        warn: (text) => warnings.push(text),
      });
      return { list, warnings };
    },
    async dlqRecord(ref) {
      const warnings: string[] = [];
      const record = await readDlqRecord(ctx, ref, { warn: (text) => warnings.push(text) });
      return { record, warnings };
    },
    replayPlan: (ref) => replayOnce(ref, true),
    replay: (ref) => replayOnce(ref, false),
  };
}
