/**
 * The read side of `sagactl dlq`: DLQ records as the stable JSON shapes sagactl prints
 * (`DlqRecordJson`), the replays recorded for them, and how a record is shown to humans.
 */
import { DLQ_HEADERS, DLQ_TOPIC } from "../lib/kafka/dlq.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { headersToStrings } from "../lib/kafka/records.ts";
import { EVENTS, isEventType, TOPICS } from "../lib/messages/mod.ts";
import { readReplayMarks, type ReplayMark } from "../lib/orchestrator_store/mod.ts";
import type { CliContext } from "./context.ts";
import {
  type PartitionMarks,
  readMarks,
  readNewest,
  readRanges,
  type TopicRecord,
} from "./dlq_reader.ts";
import { UsageError } from "./errors.ts";
import { COLOURS, formatAgo, formatTimestamp, NONE, type Printer } from "./output.ts";
import type { DlqRefArg } from "./parse.ts";

/** How long reading DLQ records may take. */
export const DLQ_READ_TIMEOUT_MS = 15_000;

/** A DLQ record as `dlq list --json` prints it. */
export interface DlqRecordJson {
  /** `<partition>:<offset>`: how sagactl names the record. */
  ref: string;
  partition: number;
  offset: number;
  /** Kafka's timestamp of the DLQ record. */
  timestamp: string;
  /**
   * `dead-letter` (a record a consumer gave up on) or `alert` (an event of the contract raised on
   * the DLQ itself: COMPENSATION_FAILED, OUTBOX_RECORD_REFUSED).
   */
  kind: "dead-letter" | "alert";
  /** From the `metadata` header, when it has one. */
  eventType: string | null;
  orderId: string | null;
  sagaId: string | null;
  key: string | null;
  /** Where a dead letter came from; null for an alert. */
  source: { topic: string; partition: number | null; offset: number | null } | null;
  /** Why it is here: the `dlq-error` header, or the alert's failure. */
  error: string | null;
  failedAt: string | null;
  /** Set once sagactl replayed it (null when never, or when PostgreSQL was unreachable). */
  replay: ReplayMark | null;
}

/** What `dlq show --json` prints: the record with all its headers and its value. */
export interface DlqRecordDetailJson extends DlqRecordJson {
  headers: Record<string, string>;
  value: string | null;
}

/** Reads a DLQ record's headers into the JSON shape (value and raw headers left out). */
export function describeDlqRecord(record: TopicRecord): DlqRecordDetailJson {
  const headers = headersToStrings(record.message.headers);
  const metadata = parseObject(headers.metadata);
  const value = record.message.value?.toString("utf8") ?? null;
  const key = record.message.key?.toString("utf8") ?? null;
  const eventType = stringField(metadata, "eventType");
  const sourceTopic = headers[DLQ_HEADERS.sourceTopic];
  const kind = sourceTopic === undefined && isAlertType(eventType) ? "alert" : "dead-letter";
  const body = kind === "alert" ? parseObject(value) : null;
  const uuidOrNull = (text: string | null) =>
    text !== null && /^[0-9a-f-]{36}$/i.test(text) ? text : null;
  return {
    ref: `${record.partition}:${record.offset}`,
    partition: record.partition,
    offset: record.offset,
    timestamp: new Date(record.timestamp).toISOString(),
    kind,
    eventType,
    orderId: stringField(metadata, "orderId") ?? stringField(body, "orderId") ?? uuidOrNull(key),
    sagaId: stringField(metadata, "sagaId") ?? stringField(body, "sagaId"),
    key,
    source: sourceTopic === undefined ? null : {
      topic: sourceTopic,
      partition: numberOrNull(headers[DLQ_HEADERS.sourcePartition]),
      offset: numberOrNull(headers[DLQ_HEADERS.sourceOffset]),
    },
    error: headers[DLQ_HEADERS.error] ?? (body === null ? null : alertError(eventType, body)),
    failedAt: headers[DLQ_HEADERS.failedAt] ?? stringField(metadata, "timestamp"),
    replay: null,
    headers,
    value,
  };
}

/** What `dlq list --json` prints. */
export interface DlqListJson {
  topic: string;
  /** Records the topic holds now, over all partitions. */
  depth: number;
  /** False when PostgreSQL did not answer: every `replay` is then null. */
  replaysKnown: boolean;
  records: DlqRecordJson[];
}

/**
 * The newest `limit` DLQ records (of event type `type` when given), newest first, with their
 * replays; `warn` hears why replays are unknown. What `dlq list` and the console both read.
 */
export async function readDlqList(
  ctx: CliContext,
  options: { limit: number; type?: string; warn: (text: string) => void },
): Promise<DlqListJson> {
  const admin = await ctx.kafkaAdmin();
  const topic = inNamespace(ctx.kafka(), DLQ_TOPIC);
  const marks = await readMarks(admin, topic);
  const records = await readNewest(ctx.kafka(), topic, {
    marks,
    limit: options.limit,
    timeoutMs: DLQ_READ_TIMEOUT_MS,
    ...(options.type === undefined ? {} : {
      select: (record) => describeDlqRecord(record).eventType === options.type,
    }),
  });
  const described = records.map(describeDlqRecord).map(({ headers: _h, value: _v, ...rest }) =>
    rest as DlqRecordJson
  );
  const replaysKnown = await attachReplayMarks(ctx, topic, described, options.warn);
  const depth = marks.reduce((sum, m) => sum + m.high - m.low, 0);
  return { topic: DLQ_TOPIC, depth, replaysKnown, records: described };
}

/** One DLQ record with its headers, value and replays. What `dlq show` and the console read. */
export async function readDlqRecord(
  ctx: CliContext,
  refArg: DlqRefArg,
  options: { warn: (text: string) => void },
): Promise<DlqRecordDetailJson> {
  const admin = await ctx.kafkaAdmin();
  const topic = inNamespace(ctx.kafka(), DLQ_TOPIC);
  const marks = await readMarks(admin, topic);
  const [ref] = resolveRefs([refArg], marks, DLQ_TOPIC);
  const [record] = await readRanges(ctx.kafka(), topic, {
    marks,
    ranges: [{ partition: ref!.partition, from: ref!.offset, to: ref!.offset + 1 }],
    timeoutMs: DLQ_READ_TIMEOUT_MS,
  });
  if (record === undefined) {
    throw new Error(`Cannot read ${DLQ_TOPIC} ${ref!.partition}:${ref!.offset}: no record`);
  }
  const detail = describeDlqRecord(record);
  await attachReplayMarks(ctx, topic, [detail], options.warn);
  return detail;
}

async function attachReplayMarks(
  ctx: CliContext,
  topic: string,
  records: DlqRecordJson[],
  warn: (text: string) => void,
): Promise<boolean> {
  try {
    const marks = await readReplayMarks(await ctx.db(), topic, records);
    for (const record of records) record.replay = marks.get(record.ref) ?? null;
    return true;
  } catch (error) {
    warn(`replays unknown: ${(error as Error).message}`);
    return false;
  }
}

/** Resolves refs against the partitions' offsets; a bare offset must name one partition. */
export function resolveRefs(
  refs: readonly DlqRefArg[],
  marks: readonly PartitionMarks[],
  topic: string,
): { partition: number; offset: number }[] {
  return refs.map((ref) => {
    if (ref.partition !== null) {
      const m = marks.find((m) => m.partition === ref.partition);
      if (m === undefined) {
        throw new Error(
          `Cannot find ${topic} ${ref.partition}:${ref.offset}: the topic has partitions 0 to ${
            marks.length - 1
          }`,
        );
      }
      if (ref.offset < m.low || ref.offset >= m.high) {
        throw new Error(
          `Cannot find ${topic} ${ref.partition}:${ref.offset}: partition ${ref.partition} holds ${
            m.high > m.low ? `offsets ${m.low} to ${m.high - 1}` : "no records"
          }`,
        );
      }
      return { partition: ref.partition, offset: ref.offset };
    }
    const holders = marks.filter((m) => ref.offset >= m.low && ref.offset < m.high);
    if (holders.length === 0) {
      throw new Error(`Cannot find ${topic} offset ${ref.offset} in any partition`);
    }
    if (holders.length > 1) {
      throw new UsageError(
        `Offset ${ref.offset} is ambiguous: partitions ${
          holders.map((m) => m.partition).join(", ")
        } all hold it; write it as <partition>:<offset>, e.g. ${
          holders[0]!.partition
        }:${ref.offset}`,
      );
    }
    return { partition: holders[0]!.partition, offset: ref.offset };
  });
}

/** Prints one DLQ record for humans. */
export function printRecord(
  print: Printer,
  record: DlqRecordDetailJson,
  options: { now: Date; topic: string },
): void {
  const { now } = options;
  const label = (text: string) => print.paint(text.padEnd(9), COLOURS.bold);
  print.line(
    `${label("Record")}${options.topic} ${record.ref}  (${
      formatTimestamp(new Date(record.timestamp))
    }, ${formatAgo(new Date(record.timestamp), now)})`,
  );
  print.line(
    `${label("Kind")}${
      record.kind === "alert"
        ? print.paint(
          `${record.eventType} alert (an operator is needed; not replayable)`,
          COLOURS.red,
        )
        : "dead letter"
    }`,
  );
  if (record.source !== null) {
    print.line(
      `${label("Source")}${record.source.topic} partition ${
        record.source.partition ?? "?"
      } offset ${record.source.offset ?? "?"}`,
    );
  }
  print.line(`${label("Type")}${record.eventType ?? NONE}`);
  print.line(`${label("Order")}${record.orderId ?? NONE}`);
  print.line(`${label("Saga")}${record.sagaId ?? NONE}`);
  print.line(`${label("Key")}${record.key ?? NONE}`);
  print.line(`${label("Failed")}${record.failedAt ?? NONE}`);
  print.line(`${label("Error")}${print.paint(record.error ?? NONE, COLOURS.red)}`);
  print.line(
    `${label("Replayed")}${
      record.replay === null
        ? "never"
        : `${record.replay.count}×, last at ${record.replay.lastReplayedAt} by ${record.replay.replayedBy}`
    }`,
  );
  print.line();
  print.line(print.paint("Headers", COLOURS.bold));
  for (const [name, value] of Object.entries(record.headers)) print.line(`  ${name}: ${value}`);
  print.line();
  print.line(print.paint("Value", COLOURS.bold));
  print.line(indent(prettyJson(record.value)));
  const body = record.kind === "alert" ? parseObject(record.value) : null;
  if (record.eventType === "COMPENSATION_FAILED" && record.sagaId !== null) {
    print.line();
    print.line(
      print.paint(`Repair its saga: sagactl saga retry ${record.sagaId} --wait`, COLOURS.yellow),
    );
  } else if (record.eventType === "OUTBOX_RECORD_REFUSED" && body !== null) {
    print.line();
    print.line(
      print.paint(
        `The refused record is set aside in ${body.schema}.outbox, row ${body.outboxId}`,
        COLOURS.yellow,
      ),
    );
  } else if (record.kind === "dead-letter" && record.replay === null) {
    print.line();
    print.line(print.paint(`Replay it: sagactl dlq replay ${record.ref}`, COLOURS.dim));
  }
}

/** A record value as indented JSON when it parses, as it is otherwise. */
export function prettyJson(text: string | null): string {
  if (text === null) return "(no value)";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function indent(text: string): string {
  return text.split("\n").map((line) => `  ${line}`).join("\n");
}

function parseObject(text: string | null | undefined): Record<string, unknown> | null {
  if (text === null || text === undefined) return null;
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function stringField(object: Record<string, unknown> | null, name: string): string | null {
  const value = object?.[name];
  return typeof value === "string" ? value : null;
}

function numberOrNull(text: string | undefined): number | null {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

/** True for the event types of the contract that travel on the DLQ: alerts, not dead letters. */
function isAlertType(eventType: string | null): boolean {
  return isEventType(eventType) && EVENTS[eventType].topic === TOPICS.ordersDlq;
}

/** What went wrong, from an alert's body (null when there is nothing to say). */
function alertError(eventType: string | null, body: Record<string, unknown>): string | null {
  if (eventType === "COMPENSATION_FAILED") {
    return `${body.step ?? "a compensation"} failed ${body.attempts ?? "?"} time(s) (${
      body.code ?? "unknown"
    }): ${body.reason ?? ""}`;
  }
  if (eventType === "OUTBOX_RECORD_REFUSED") {
    return `${body.eventType ?? "A record"} for ${body.topic ?? "?"} (${
      body.bytes ?? "?"
    } bytes) set aside in ${body.schema ?? "?"}.outbox row ${body.outboxId ?? "?"}: ${
      body.reason ?? ""
    }`;
  }
  return typeof body.reason === "string" ? body.reason : null;
}
