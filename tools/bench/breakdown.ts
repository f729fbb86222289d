/**
 * Where an order's end-to-end time goes, hop by hop, from the timestamps the pipeline wrote
 * anyway: for the saga, each orchestrator transition (`saga_history.at`), each outbox row's
 * relay pick-up (`published_at`) and each participant's handling (`processed_messages`); for
 * the bare pipeline, each hop's row. PostgreSQL's `now()` is the start of the transaction, so a
 * point is "the handler (or relay) began its transaction". Both clocks are this machine's.
 */
import type { Sql } from "../../lib/db/mod.ts";
import { TOPICS } from "../../lib/messages/mod.ts";
import { HAPPY_PATH_TOPICS, SERVICES } from "../../lib/topology/mod.ts";
import type { OrderTiming } from "./load.ts";
import { BARE_HOPS_TABLE, BARE_ROLES } from "./bare_service.ts";
import { round, summarize } from "./stats.ts";

/** One segment of the path of an order, over the measured window's orders (ms). */
export interface Segment {
  segment: string;
  count: number;
  p50: number;
  mean: number;
  p99: number;
  /** This segment's mean as a share of the sum of the means. */
  share: number;
}

/** Points of one order's path in time order (wall clock ms); a missing point is undefined. */
type Path = Array<number | undefined>;

/** Segments between consecutive points, named by `labels` (one fewer than points). */
export function segmentsOf(paths: readonly Path[], labels: readonly string[]): Segment[] {
  const segments = labels.map((label, i) => {
    const values: number[] = [];
    for (const path of paths) {
      const from = path[i];
      const to = path[i + 1];
      if (from !== undefined && to !== undefined) values.push(to - from);
    }
    const summary = summarize(values);
    return {
      segment: label,
      count: summary?.count ?? 0,
      p50: summary?.p50 ?? 0,
      mean: summary?.mean ?? 0,
      p99: summary?.p99 ?? 0,
      share: 0,
    };
  });
  const total = segments.reduce((sum, s) => sum + Math.max(0, s.mean), 0);
  for (const s of segments) s.share = total > 0 ? round(Math.max(0, s.mean) / total, 3) : 0;
  return segments;
}

/** The saga's path: produced, then 13 points in PostgreSQL, then observed in Redis. */
export const SAGA_SEGMENTS = [
  "orders: produced → orchestrator tx begins",
  "orchestrator ORDER_CREATED tx → relay picks up",
  "inventory.commands: relay → inventory tx begins",
  "inventory tx → relay picks up",
  "inventory.replies: relay → orchestrator tx begins",
  "orchestrator INVENTORY_RESERVED tx → relay picks up",
  "payment.commands: relay → payment tx begins",
  "payment tx (Stripe call) → relay picks up",
  "payment.replies: relay → orchestrator tx begins",
  "orchestrator PAYMENT_PROCESSED tx → relay picks up",
  "notification.commands: relay → notification tx begins",
  "notification tx → relay picks up",
  "notification.replies: relay → orchestrator tx begins",
  "orchestrator NOTIFICATION_SENT tx → COMPLETED seen in Redis",
] as const;

/** The bare pipeline's path: produced, one point per hop, observed in Redis. */
export const BARE_SEGMENTS = [
  "orders: produced → bare orchestrator inserts",
  "orchestrator commit + forward → inventory inserts",
  "inventory commit + forward → orchestrator inserts",
  "orchestrator commit + forward → payment inserts",
  "payment commit + forward → orchestrator inserts",
  "orchestrator commit + forward → notification inserts",
  "notification commit + forward → orchestrator inserts",
  "orchestrator commit → done seen in Redis",
] as const;

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** Breaks the saga's latency down over `orders`; one query per table (the caller counts them). */
export async function sagaBreakdown(sql: Sql, orders: readonly OrderTiming[]): Promise<Segment[]> {
  const ids = orders.map((order) => order.orderId);
  const history = await sql.unsafe<Array<{ orderId: string; eventType: string; at: number }>>(
    `select s.order_id::text as "orderId", h.event_type as "eventType", ${ms("h.at")} as at
     from orchestrator.saga_history h join orchestrator.sagas s using (saga_id)
     where h.outcome = 'applied' and s.order_id = any($1::uuid[])`,
    [ids],
  );
  const outbox = async (schema: string) =>
    await sql.unsafe<Array<{ orderId: string; topic: string; eventId: string; at: number }>>(
      `select key as "orderId", topic, (headers->>'metadata')::jsonb->>'eventId' as "eventId",
         ${ms("published_at")} as at
       from ${schema}.outbox where key = any($1::text[])`,
      [ids],
    );
  const processed = async (schema: string) =>
    new Map(
      (await sql.unsafe<Array<{ eventId: string; at: number }>>(
        `select event_id::text as "eventId", ${ms("processed_at")} as at
         from ${schema}.processed_messages`,
      )).map((row) => [row.eventId, row.at]),
    );
  const [commands, inventory, payment, notification, inventoryIn, paymentIn, notificationIn] =
    await Promise.all([
      outbox("orchestrator"),
      outbox("inventory"),
      outbox("payment"),
      outbox("notification"),
      processed("inventory"),
      processed("payment"),
      processed("notification"),
    ]);
  const key = (orderId: string, name: string) => `${orderId}/${name}`;
  const points = new Map<string, { at: number; eventId?: string }>();
  for (const row of history) points.set(key(row.orderId, row.eventType), { at: row.at });
  for (const rows of [commands, inventory, payment, notification]) {
    for (const row of rows) points.set(key(row.orderId, row.topic), row);
  }
  const at = (orderId: string, name: string) => points.get(key(orderId, name))?.at;
  const handled = (orderId: string, topic: string, by: Map<string, number>) => {
    const eventId = points.get(key(orderId, topic))?.eventId;
    return eventId === undefined ? undefined : by.get(eventId);
  };
  const paths = orders.map(({ orderId, sentAtMs, observedAtMs }) => [
    sentAtMs,
    at(orderId, "ORDER_CREATED"),
    at(orderId, TOPICS.inventoryCommands),
    handled(orderId, TOPICS.inventoryCommands, inventoryIn),
    at(orderId, TOPICS.inventoryReplies),
    at(orderId, "INVENTORY_RESERVED"),
    at(orderId, TOPICS.paymentCommands),
    handled(orderId, TOPICS.paymentCommands, paymentIn),
    at(orderId, TOPICS.paymentReplies),
    at(orderId, "PAYMENT_PROCESSED"),
    at(orderId, TOPICS.notificationCommands),
    handled(orderId, TOPICS.notificationCommands, notificationIn),
    at(orderId, TOPICS.notificationReplies),
    at(orderId, "NOTIFICATION_SENT"),
    observedAtMs ?? undefined,
  ]);
  return segmentsOf(paths, SAGA_SEGMENTS);
}

/** Breaks the bare pipeline's latency down over `orders` (one query). */
export async function bareBreakdown(sql: Sql, orders: readonly OrderTiming[]): Promise<Segment[]> {
  const rows = await sql.unsafe<Array<{ orderId: string; topic: string; at: number }>>(
    `select order_id::text as "orderId", topic, ${ms("at")} as at from ${BARE_HOPS_TABLE}
     where order_id = any($1::uuid[])`,
    [orders.map((order) => order.orderId)],
  );
  const hops = new Map(rows.map((row) => [`${row.orderId}/${row.topic}`, row.at]));
  const paths = orders.map(({ orderId, sentAtMs, observedAtMs }) => [
    sentAtMs,
    ...HAPPY_PATH_TOPICS.map((topic) => hops.get(`${orderId}/${topic}`)),
    observedAtMs ?? undefined,
  ]);
  return segmentsOf(paths, BARE_SEGMENTS);
}

/** The consumer group whose handler writes to each saga schema's `processed_messages`. */
const SAGA_GROUP_OF_SCHEMA: Record<string, string> = Object.fromEntries(
  SERVICES.map((service) => [service.schema, service.group]),
);

/**
 * Records each consumer group handled per second between `fromMs` and `toMs` (wall clock), from
 * the rows its handler wrote: a saturated group handles at its ceiling while its lag grows.
 */
export async function handledPerSecond(
  sql: Sql,
  kind: "saga" | "bare",
  window: { fromMs: number; toMs: number },
): Promise<Record<string, number>> {
  const seconds = (window.toMs - window.fromMs) / 1_000;
  const bounds = [window.fromMs / 1_000, window.toMs / 1_000];
  const counts: Record<string, number> = {};
  if (kind === "saga") {
    const rows = await sql.unsafe<Array<{ schema: string; n: number }>>(
      Object.keys(SAGA_GROUP_OF_SCHEMA).map((schema) =>
        `select '${schema}' as schema, count(*)::int as n from ${schema}.processed_messages
         where processed_at >= to_timestamp($1) and processed_at < to_timestamp($2)`
      ).join(" union all "),
      bounds,
    );
    for (const row of rows) counts[SAGA_GROUP_OF_SCHEMA[row.schema]!] = row.n;
  } else {
    const rows = await sql.unsafe<Array<{ topic: string; n: number }>>(
      `select topic, count(*)::int as n from ${BARE_HOPS_TABLE}
       where at >= to_timestamp($1) and at < to_timestamp($2) group by topic`,
      bounds,
    );
    for (const row of rows) {
      const group = BARE_GROUP_OF_TOPIC.get(row.topic) ?? row.topic;
      counts[group] = (counts[group] ?? 0) + row.n;
    }
  }
  return Object.fromEntries(
    Object.entries(counts).map(([group, n]) => [group, round(n / seconds, 1)]),
  );
}

const BARE_GROUP_OF_TOPIC = new Map(
  Object.values(BARE_ROLES).flatMap((role) =>
    Object.keys(role.next).map((topic) => [topic, role.groupId] as const)
  ),
);
