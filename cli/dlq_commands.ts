/**
 * `sagactl dlq list|show|replay`: the dead letters and alerts on `orders.dlq`, and sending a
 * dead letter back to its source topic, once per DLQ record unless forced.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { DLQ_TOPIC } from "../lib/kafka/dlq.ts";
import type { CliContext } from "./context.ts";
import { replayDeadLetters, REPLAYED_AT_HEADER } from "./dlq_replay.ts";
import { printRecord, readDlqList, readDlqRecord } from "./dlq_view.ts";
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
      const { depth, replaysKnown, records: described } = await readDlqList(ctx, {
        limit: options.limit,
        ...(options.type === undefined ? {} : { type: options.type }),
        warn,
      });
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
      const detail = await readDlqRecord(ctx, refArg, { warn });
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
