/**
 * `sagactl dlq replay`: sends dead letters back to their source topic, each DLQ record at most
 * once unless forced, recorded in `orchestrator.dlq_replays` in the transaction that publishes.
 */
import type { IHeaders, Kafka, Producer } from "kafkajs";
import { type Sql, withTransaction } from "../lib/db/mod.ts";
import { DLQ_HEADERS, DLQ_TOPIC } from "../lib/kafka/dlq.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import {
  type DlqReplay,
  insertReplay,
  readReplayMarks,
  recordReplayAgain,
} from "../lib/orchestrator_store/mod.ts";
import type { CliContext } from "./context.ts";
import { type PartitionMarks, readMarks, readRanges, type TopicRecord } from "./dlq_reader.ts";
import { describeDlqRecord, DLQ_READ_TIMEOUT_MS, resolveRefs } from "./dlq_view.ts";
import { COLOURS, colourWanted, formatTimestamp, NONE, type Printer, printer } from "./output.ts";
import type { DlqRefArg } from "./parse.ts";

/** Header set on a replayed record: when it was replayed. */
export const REPLAYED_AT_HEADER = "dlq-replayed-at";
/** Header set on a replayed record: the DLQ record it came from, `orders.dlq:<partition>:<offset>`. */
export const REPLAYED_FROM_HEADER = "dlq-replayed-from";

/** One record's line in what `dlq replay --json` prints. */
export interface ReplayJson {
  ref: string;
  partition: number;
  offset: number;
  /**
   * `replayed`; `planned` in a dry run; `refused` (named records) or `skipped` (with --all) when
   * it cannot be replayed; `failed` when publishing it failed (nothing recorded for it).
   */
  result: "replayed" | "planned" | "refused" | "skipped" | "failed";
  sourceTopic: string | null;
  /** The partition of the source topic it was (or would be) published to. */
  sourcePartition: number | null;
  key: string | null;
  eventType: string | null;
  reason: string | null;
  replayedAt: string | null;
}

/** The headers a replayed record carries: the original ones, without `dlq-*`, plus the replay's. */
export function replayHeaders(
  headers: IHeaders | undefined,
  replayedAt: Date,
  from: string,
): IHeaders {
  const dropped = new Set<string>([
    ...Object.values(DLQ_HEADERS),
    REPLAYED_AT_HEADER,
    REPLAYED_FROM_HEADER,
  ]);
  const kept: IHeaders = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!dropped.has(name) && value !== undefined) kept[name] = value;
  }
  return { ...kept, [REPLAYED_AT_HEADER]: replayedAt.toISOString(), [REPLAYED_FROM_HEADER]: from };
}

interface PlannedReplay {
  record: TopicRecord;
  json: ReplayJson;
}

/** What `runReplays` did: each record's line, and the records whose publishing failed. */
export interface ReplayOutcome {
  replays: ReplayJson[];
  failures: string[];
}

/** Replays the named DLQ records (or all of them) after checking each can be, and prints it. */
export async function replayDeadLetters(
  ctx: CliContext,
  options: { refs: DlqRefArg[]; all: boolean; dryRun: boolean; force: boolean; json: boolean },
): Promise<void> {
  const { replays, failures } = await runReplays(ctx, options);
  const print = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
  if (options.json) {
    print.json({ dryRun: options.dryRun, force: options.force, replays });
  } else {
    printReplays(print, replays, { dryRun: options.dryRun });
  }
  if (failures.length > 0) {
    throw new Error(`Cannot replay ${failures.length} record(s): ${failures.join("; ")}`);
  }
}

/**
 * Checks the named DLQ records (or all of them) and, unless `dryRun`, replays each as
 * `ctx.actor()`; throws naming the reasons when a named record cannot be replayed (then
 * nothing is). What `dlq replay` and the console both run.
 */
export async function runReplays(
  ctx: CliContext,
  options: { refs: DlqRefArg[]; all: boolean; dryRun: boolean; force: boolean },
): Promise<ReplayOutcome> {
  const admin = await ctx.kafkaAdmin();
  const sql = await ctx.db();
  const kafka = ctx.kafka();
  const topic = inNamespace(kafka, DLQ_TOPIC);
  const marks = await readMarks(admin, topic);
  const records = options.all
    ? await readRanges(kafka, topic, {
      marks,
      ranges: marks.map((m) => ({ partition: m.partition, from: m.low, to: m.high })),
      timeoutMs: DLQ_READ_TIMEOUT_MS * 4,
    })
    : await readRefs(kafka, topic, marks, resolveRefs(options.refs, marks, DLQ_TOPIC));
  const plan = await planReplays(ctx, topic, records, options);
  const refused = plan.filter((p) => p.json.result === "refused");
  if (refused.length > 0) {
    const reasons = refused.map((p) => `${DLQ_TOPIC} ${p.json.ref}: ${p.json.reason}`);
    throw new Error(
      refused.length === 1 && plan.length === 1
        ? `Cannot replay ${reasons[0]}`
        : `Cannot replay ${refused.length} of ${plan.length} records, so none was replayed: ${
          reasons.join("; ")
        }`,
    );
  }
  const failures: string[] = [];
  if (!options.dryRun) {
    const producer = await ctx.producer();
    const actor = ctx.actor();
    for (const item of plan) {
      if (item.json.result !== "planned") continue;
      try {
        await publishReplay(sql, item, { topic, producer, actor, force: options.force });
      } catch (error) {
        // This record's transaction rolled back; the others stand. Report, then go on.
        item.json.result = "failed";
        item.json.reason = (error as Error).message;
        failures.push(`${item.json.ref}: ${item.json.reason}`);
      }
    }
  }
  return { replays: plan.map((p) => p.json), failures };
}

function printReplays(
  print: Printer,
  replays: readonly ReplayJson[],
  options: { dryRun: boolean },
): void {
  if (replays.length === 0) return print.line(`${DLQ_TOPIC} is empty: nothing to replay.`);
  print.table(
    ["OFFSET", "TO", "KEY", "TYPE", "RESULT"],
    replays.map((r) => [
      r.ref,
      r.sourceTopic === null ? NONE : `${r.sourceTopic}/${r.sourcePartition ?? "?"}`,
      r.key ?? NONE,
      r.eventType ?? NONE,
      r.result === "replayed"
        ? { text: `replayed at ${formatTimestamp(new Date(r.replayedAt!))}`, colour: COLOURS.green }
        : r.result === "planned"
        ? { text: "would replay", colour: COLOURS.cyan }
        : { text: `${r.result}: ${r.reason}`, colour: COLOURS.yellow },
    ]),
  );
  const done = replays.filter((r) => r.result === "replayed").length;
  const planned = replays.filter((r) => r.result === "planned").length;
  const skipped = replays.filter((r) => r.result === "skipped").length;
  const failed = replays.filter((r) => r.result === "failed").length;
  print.line(
    options.dryRun
      ? `Dry run: would replay ${planned} record(s)${
        skipped > 0 ? `, skip ${skipped}` : ""
      }; nothing changed.`
      : `Replayed ${done} record(s) to their source topics${
        skipped > 0 ? `, skipped ${skipped}` : ""
      }${failed > 0 ? `, ${failed} failed` : ""}.`,
  );
}

async function readRefs(
  kafka: Kafka,
  topic: string,
  marks: readonly PartitionMarks[],
  refs: readonly { partition: number; offset: number }[],
): Promise<TopicRecord[]> {
  const byPartition = new Map<number, { from: number; to: number }>();
  for (const { partition, offset } of refs) {
    const range = byPartition.get(partition);
    byPartition.set(partition, {
      from: Math.min(range?.from ?? offset, offset),
      to: Math.max(range?.to ?? offset + 1, offset + 1),
    });
  }
  const records = await readRanges(kafka, topic, {
    marks,
    ranges: [...byPartition].map(([partition, range]) => ({ partition, ...range })),
    timeoutMs: DLQ_READ_TIMEOUT_MS,
  });
  const found = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
  const unique = [...new Map(refs.map((r) => [`${r.partition}:${r.offset}`, r])).keys()];
  return unique.map((ref) => {
    const record = found.get(ref);
    if (record === undefined) throw new Error(`Cannot read ${DLQ_TOPIC} ${ref}: no record`);
    return record;
  });
}

async function planReplays(
  ctx: CliContext,
  dlqTopic: string,
  records: readonly TopicRecord[],
  options: { all: boolean; force: boolean },
): Promise<PlannedReplay[]> {
  const sql = await ctx.db();
  const admin = await ctx.kafkaAdmin();
  const kafka = ctx.kafka();
  const replayed = await readReplayMarks(sql, dlqTopic, records);
  const onBroker = new Set(await admin.listTopics());
  // Source topics are named by the contract; on the broker they may carry a namespace.
  const exists = (topic: string) => onBroker.has(inNamespace(kafka, topic));
  const described = records.map((record) => ({ record, info: describeDlqRecord(record) }));
  const sources = [
    ...new Set(described.flatMap(({ info }) => {
      const topic = info.source?.topic;
      return topic !== undefined && exists(topic) && topic !== DLQ_TOPIC ? [topic] : [];
    })),
  ];
  const partitions = new Map<string, number>();
  if (sources.length > 0) {
    const metadata = await admin.fetchTopicMetadata({
      topics: sources.map((topic) => inNamespace(kafka, topic)),
    });
    const contractNames = new Map(sources.map((topic) => [inNamespace(kafka, topic), topic]));
    for (const topic of metadata.topics) {
      const name = contractNames.get(topic.name);
      if (name !== undefined) partitions.set(name, topic.partitions.length);
    }
  }
  const refusal = options.all ? "skipped" : "refused";
  return described.map(({ record, info }) => {
    const sourceTopic = info.source?.topic ?? null;
    const wanted = info.source?.partition ?? null;
    const count = sourceTopic === null ? undefined : partitions.get(sourceTopic);
    const json: ReplayJson = {
      ref: info.ref,
      partition: info.partition,
      offset: info.offset,
      result: "planned",
      sourceTopic,
      sourcePartition: wanted !== null && count !== undefined && wanted < count ? wanted : null,
      key: info.key,
      eventType: info.eventType,
      reason: null,
      replayedAt: null,
    };
    const mark = replayed.get(info.ref);
    let reason: string | null = null;
    if (info.kind === "alert") {
      reason =
        `it is a ${info.eventType} alert, not a dead letter: there is no source topic to replay it to${
          info.eventType !== "COMPENSATION_FAILED" || info.sagaId === null
            ? ""
            : ` (repair its saga instead: sagactl saga retry ${info.sagaId})`
        }`;
    } else if (sourceTopic === null) {
      reason = `it has no ${DLQ_HEADERS.sourceTopic} header: there is no topic to replay it to`;
    } else if (sourceTopic === DLQ_TOPIC) {
      reason = `it names ${DLQ_TOPIC} itself as its source topic`;
    } else if (!exists(sourceTopic)) {
      reason = `its source topic ${sourceTopic} no longer exists`;
    } else if (mark !== undefined && !options.force) {
      reason =
        `it was replayed already (${mark.count}×, last at ${mark.lastReplayedAt} by ${mark.replayedBy}); add --force to replay it again`;
    }
    if (reason !== null) {
      json.result = refusal;
      json.reason = reason;
    }
    return { record, json };
  });
}

async function publishReplay(
  sql: Sql,
  item: PlannedReplay,
  options: {
    topic: string;
    producer: Producer;
    actor: string;
    force: boolean;
  },
): Promise<void> {
  const { record, json } = item;
  const replayedAt = new Date();
  const replay: DlqReplay = {
    dlqTopic: options.topic,
    partition: json.partition,
    offset: json.offset,
    sourceTopic: json.sourceTopic!,
    key: json.key,
    recordTimestamp: new Date(record.timestamp),
    replayedBy: options.actor,
    replayedAt,
  };
  await withTransaction(sql, async (tx) => {
    if (!await insertReplay(tx, replay)) {
      // Replayed by someone else since the plan was made: the row lock now orders us after them.
      if (!options.force) {
        throw new Error(
          `Cannot replay ${DLQ_TOPIC} ${json.ref}: it was replayed meanwhile by another operator; add --force to replay it again`,
        );
      }
      await recordReplayAgain(tx, replay);
    }
    // Published inside the transaction: if Kafka refuses, the replay is not recorded.
    await options.producer.send({
      topic: inNamespace(options.producer, json.sourceTopic!),
      acks: -1,
      messages: [{
        key: record.message.key,
        value: record.message.value,
        headers: replayHeaders(record.message.headers, replayedAt, `${DLQ_TOPIC}:${json.ref}`),
        ...(json.sourcePartition === null ? {} : { partition: json.sourcePartition }),
      }],
    });
  });
  json.result = "replayed";
  json.replayedAt = replayedAt.toISOString();
}
