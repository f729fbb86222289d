/**
 * `sagactl dlq list|show|replay`: the dead letters and alerts on `orders.dlq`, and sending a
 * dead letter back to its source topic, once per DLQ record unless forced.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { DLQ_TOPIC } from "../lib/kafka/dlq.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import type { CliContext } from "./context.ts";
import { readMarks, readNewest, readRanges } from "./dlq_reader.ts";
import { replayDeadLetters, REPLAYED_AT_HEADER } from "./dlq_replay.ts";
import {
  describeDlqRecord,
  DLQ_READ_TIMEOUT_MS,
  type DlqRecordJson,
  printRecord,
  readReplayMarks,
  resolveRefs,
} from "./dlq_view.ts";
import { UsageError } from "./errors.ts";
import { examples, jsonHelp } from "./help.ts";
import { COLOURS, colourWanted, formatAgo, NONE, printer, truncate } from "./output.ts";
import {
  collectDlqRef,
  type DlqRefArg,
  parseDlqRef,
  parseEventType,
  positiveInteger,
} from "./parse.ts";

/** The `dlq` command. */
export function dlqCommands(ctx: CliContext): Command {
  const dlq = new Command("dlq")
    .description(
      `Inspect and replay the dead-letter topic ${DLQ_TOPIC} (dead letters and COMPENSATION_FAILED alerts)`,
    )
    .addHelpText(
      "after",
      examples(["sagactl dlq list", "sagactl dlq show 3:17", "sagactl dlq replay 3:17"]),
    );
  const out = () => printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
  const warn = (text: string) => {
    const err = printer(ctx.io.stderr, colourWanted(ctx.io.env, ctx.io.stderrIsTerminal));
    err.line(err.paint(`warning: ${text}`, COLOURS.yellow));
  };

  dlq.command("list")
    .description(
      "List the newest DLQ records: offset, time, source topic/partition/offset, event type, order id, error, replays",
    )
    .addOption(
      new Option("-n, --limit <n>", "at most this many records").argParser(positiveInteger(10_000))
        .default(20),
    )
    .option(
      "--type <eventType>",
      "only records of this event type (from their metadata header)",
      parseEventType,
    )
    .option(
      "--json",
      jsonHelp("{ topic, depth, replaysKnown, records: DlqRecord[] } (see dlq show --help)"),
    )
    .addHelpText(
      "after",
      `
OFFSET is <partition>:<offset> in ${DLQ_TOPIC}; give it to dlq show and dlq replay.
${
        examples([
          "sagactl dlq list",
          "sagactl dlq list --type COMPENSATION_FAILED --limit 5",
          "sagactl dlq list --json | jq -r '.records[] | select(.replay == null) | .ref'",
        ])
      }`,
    )
    .action(async (options) => {
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
      const replaysKnown = await attachReplayMarks(ctx, topic, described, warn);
      const depth = marks.reduce((sum, m) => sum + m.high - m.low, 0);
      const print = out();
      if (options.json) {
        return print.json({ topic: DLQ_TOPIC, depth, replaysKnown, records: described });
      }
      if (described.length === 0) {
        return print.line(
          `${DLQ_TOPIC} has no records${options.type ? ` of ${options.type}` : ""}.`,
        );
      }
      const now = ctx.now();
      print.table(
        ["OFFSET", "TIME", "SOURCE", "TYPE", "ORDER ID", "REPLAYED", "ERROR"],
        described.map((r) => [
          r.ref,
          formatAgo(new Date(r.timestamp), now),
          r.source === null
            ? { text: "(alert)", colour: COLOURS.red }
            : `${r.source.topic}/${r.source.partition ?? "?"}/${r.source.offset ?? "?"}`,
          r.eventType ?? NONE,
          r.orderId ?? NONE,
          r.replay === null ? NONE : {
            text: `${r.replay.count}× ${formatAgo(new Date(r.replay.lastReplayedAt), now)}`,
            colour: COLOURS.green,
          },
          truncate(r.error ?? NONE, 70),
        ]),
      );
      print.line(
        print.paint(
          `${described.length} of ${depth} record(s) in ${DLQ_TOPIC}, newest first.`,
          COLOURS.dim,
        ),
      );
    });

  dlq.command("show")
    .description("Show one DLQ record: its headers, value, source, error and replays")
    .argument(
      "<offset>",
      "<partition>:<offset> as dlq list shows it (or a bare offset)",
      parseDlqRef,
    )
    .option("--json", jsonHelp("DlqRecord & { headers, value }"))
    .addHelpText(
      "after",
      `
JSON shape (stable; times ISO-8601 UTC, absent values null):
  DlqRecord { ref, partition, offset, timestamp, kind: "dead-letter" | "alert", eventType,
              orderId, sagaId, key, source: { topic, partition, offset } | null, error,
              failedAt, replay: { count, firstReplayedAt, lastReplayedAt, replayedBy } | null }
${examples(["sagactl dlq show 3:17", "sagactl dlq show 3:17 --json | jq -r .value"])}`,
    )
    .action(async (refArg, options) => {
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
      await attachReplayMarks(ctx, topic, [detail], warn);
      const print = out();
      if (options.json) return print.json(detail);
      printRecord(print, detail, { now: ctx.now(), topic: DLQ_TOPIC });
    });

  dlq.command("replay")
    .description(
      `Publish dead letters again to their source topic (key, value, original headers, plus ${REPLAYED_AT_HEADER}); each DLQ record at most once unless --force`,
    )
    .argument(
      "[offsets...]",
      "<partition>:<offset> of each record, as dlq list shows them",
      collectDlqRef,
    )
    .option("--all", "replay every dead letter not replayed yet (alerts and the rest are skipped)")
    .option("--dry-run", "print what would be replayed and change nothing")
    .option("--force", "replay records that were replayed before")
    .option(
      "--json",
      jsonHelp(
        "{ dryRun, force, replays: [{ ref, partition, offset, result, sourceTopic, sourcePartition, key, eventType, reason, replayedAt }] }",
      ),
    )
    .addHelpText(
      "after",
      `
Named records are all checked first: if any cannot be replayed (a COMPENSATION_FAILED alert
has no source topic; a record replayed before needs --force; its source topic must exist),
nothing is replayed and sagactl exits 1. Each replay is recorded in orchestrator.dlq_replays
in the same transaction that publishes it, with who ($USER) and when.
${
        examples([
          "sagactl dlq replay 3:17",
          "sagactl dlq replay 3:17 0:4 --dry-run",
          "sagactl dlq replay 3:17 --force",
          "sagactl dlq replay --all --dry-run",
        ])
      }`,
    )
    .action(async (offsets, options) => {
      const refArgs: DlqRefArg[] = offsets ?? [];
      if (options.all === true && refArgs.length > 0) {
        throw new UsageError("Give offsets or --all, not both", { command: "dlq replay" });
      }
      if (options.all !== true && refArgs.length === 0) {
        throw new UsageError("Missing the offsets to replay (or --all)", {
          command: "dlq replay",
        });
      }
      await replayDeadLetters(ctx, {
        refs: refArgs,
        all: options.all === true,
        dryRun: options.dryRun === true,
        force: options.force === true,
        json: options.json === true,
      });
    });

  return dlq;
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
