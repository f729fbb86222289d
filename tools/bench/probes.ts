/**
 * Counters the bench reads from Kafka and PostgreSQL: records per topic (end offsets), consumer
 * lag per group, commits and row writes per database and table, the backends of a database, and
 * the outbox backlog of each schema.
 */
import type { Admin, Kafka } from "kafkajs";
import { waitFor } from "../../lib/async/mod.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { inNamespace } from "../../lib/kafka/namespace.ts";

/**
 * A topic's offsets, asked again while they cannot be had: on a cluster, kafkajs fails with a
 * TypeError while its metadata of a new topic has no partitions yet, or a leader just moved.
 */
function topicOffsets(admin: Admin, topic: string) {
  return waitFor(() => admin.fetchTopicOffsets(topic), {
    timeoutMs: 30_000,
    intervalMs: 250,
    description: `the offsets of ${topic}`,
  });
}

/** Records on each topic (contract name → sum of its partitions' end offsets). */
export async function topicRecordCounts(
  admin: Admin,
  kafka: Kafka,
  topics: readonly string[],
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await Promise.all(topics.map(async (topic) => {
    const offsets = await topicOffsets(admin, inNamespace(kafka, topic));
    counts[topic] = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  }));
  return counts;
}

/** Records not yet consumed (end offset − committed offset) by each group, over its topics. */
export async function consumerLags(
  admin: Admin,
  kafka: Kafka,
  groups: Record<string, readonly string[]>,
): Promise<Record<string, number>> {
  const ends = new Map<string, number>();
  const topics = [...new Set(Object.values(groups).flat())];
  await Promise.all(topics.map(async (topic) => {
    for (const p of await topicOffsets(admin, inNamespace(kafka, topic))) {
      ends.set(`${topic}/${p.partition}`, Number(p.high));
    }
  }));
  const lags: Record<string, number> = {};
  await Promise.all(
    Object.entries(groups).map(async ([groupId, groupTopics]) => {
      const committed = await admin.fetchOffsets({
        groupId: inNamespace(kafka, groupId),
        topics: groupTopics.map((topic) => inNamespace(kafka, topic)),
      });
      const byBrokerName = new Map(groupTopics.map((topic) => [inNamespace(kafka, topic), topic]));
      let lag = 0;
      for (const { topic: brokerName, partitions } of committed) {
        const topic = byBrokerName.get(brokerName) ?? brokerName;
        for (const { partition, offset } of partitions) {
          const end = ends.get(`${topic}/${partition}`) ?? 0;
          lag += Math.max(0, end - Math.max(0, Number(offset)));
        }
      }
      lags[groupId] = lag;
    }),
  );
  return lags;
}

/** Whole-database counters of `pg_stat_database`. */
export interface DatabaseCounters {
  xactCommit: number;
  xactRollback: number;
  tupInserted: number;
  tupUpdated: number;
  tupDeleted: number;
}

/**
 * The counters of `database`, read through a connection to another database (e.g.
 * `postgres`) so that reading them adds nothing to them.
 */
export async function databaseCounters(
  maintenance: Sql,
  database: string,
): Promise<DatabaseCounters> {
  const [row] = await maintenance<DatabaseCounters[]>`
    select xact_commit::float8 as "xactCommit", xact_rollback::float8 as "xactRollback",
      tup_inserted::float8 as "tupInserted", tup_updated::float8 as "tupUpdated",
      tup_deleted::float8 as "tupDeleted"
    from pg_stat_database where datname = ${database}`;
  if (row === undefined) throw new RangeError(`Cannot read counters: no database "${database}"`);
  return row;
}

/** Row writes of one table. */
export interface TableWrites {
  inserted: number;
  updated: number;
  deleted: number;
}

/** Row writes of every user table of the connected database (`schema.table` → counts). */
export async function tableWrites(sql: Sql): Promise<Record<string, TableWrites>> {
  const rows = await sql<Array<TableWrites & { name: string }>>`
    select schemaname || '.' || relname as name, n_tup_ins::float8 as inserted,
      n_tup_upd::float8 as updated, n_tup_del::float8 as deleted
    from pg_stat_user_tables`;
  return Object.fromEntries(
    rows.map(({ name, ...writes }) => [name, writes]),
  );
}

/** The server processes serving `database`, by `application_name`. */
export async function backendsOf(
  maintenance: Sql,
  database: string,
): Promise<Array<{ pid: number; application: string }>> {
  return await maintenance<Array<{ pid: number; application: string }>>`
    select pid, application_name as application from pg_stat_activity
    where datname = ${database} and backend_type = 'client backend'`;
}

/** Outbox rows not yet published, per schema, in one statement. */
export async function outboxBacklog(
  sql: Sql,
  schemas: readonly string[],
): Promise<Record<string, number>> {
  if (schemas.length === 0) return {};
  const parts = schemas.map((schema) =>
    `select '${schema.replaceAll("'", "''")}' as schema, count(*)::int as n from "${
      schema.replaceAll('"', '""')
    }".outbox where published_at is null and set_aside_at is null`
  );
  const rows = await sql.unsafe<Array<{ schema: string; n: number }>>(parts.join(" union all "));
  return Object.fromEntries(rows.map((row) => [row.schema, row.n]));
}
