/**
 * `sagactl stats`: the system at a glance: sagas by status, the oldest saga in flight, sagas
 * due for retry or overdue, DLQ depth, and the outbox backlog of each service (and its rows set
 * aside, refused by Kafka for good).
 */
import { Command } from "@commander-js/extra-typings";
import type { Sql } from "../lib/db/mod.ts";
import { DLQ_TOPIC } from "../lib/kafka/dlq.ts";
import { inNamespace } from "../lib/kafka/namespace.ts";
import { countReplays, readSagaStats } from "../lib/orchestrator_store/mod.ts";
import { readOutboxBacklog } from "../lib/outbox/mod.ts";
import { SAGA_STATUSES, type SagaStatus } from "../lib/saga/mod.ts";
import { SCHEMAS } from "../lib/topology/mod.ts";
import type { CliContext } from "./context.ts";
import { readMarks } from "./dlq_reader.ts";
import { examples, jsonHelp } from "./help.ts";
import { COLOURS, colourWanted, formatDuration, NONE, printer, statusCell } from "./output.ts";

/** What `stats --json` prints. */
export interface StatsJson {
  sagas: {
    total: number;
    /** Every status, 0 when none. */
    byStatus: Record<SagaStatus, number>;
    /** STARTED, IN_PROGRESS and COMPENSATING. */
    inFlight: number;
    oldestInFlight: {
      sagaId: string;
      orderId: string;
      status: SagaStatus;
      createdAt: string;
      ageSeconds: number;
    } | null;
    /** Compensation retries whose time has come (the sweeper takes them next). */
    dueForRetry: number;
    /** Compensation retries scheduled, due or not. */
    scheduledRetries: number;
    /** Sagas whose awaited reply is overdue (the sweeper times them out next). */
    overdueSteps: number;
  };
  /** Null when Kafka did not answer. */
  dlq: { topic: string; depth: number; replayed: number } | null;
  outbox: {
    service: string;
    /** Rows still to publish (set-aside rows are not). */
    unpublished: number;
    /** Age of the oldest of them. */
    oldestAgeSeconds: number | null;
    /** Rows Kafka refused for good, set aside by the relay (each with an alert on orders.dlq). */
    setAside: number;
  }[];
}

/** Reads everything `stats` shows from PostgreSQL (the DLQ part is added by the caller). */
export async function readStats(sql: Sql, now: Date): Promise<Omit<StatsJson, "dlq">> {
  const { byStatus, oldestInFlight: oldest, ...due } = await readSagaStats(sql, now);
  const outbox = [];
  for (const schema of SCHEMAS) {
    const backlog = await readOutboxBacklog(sql, schema);
    outbox.push({
      service: schema,
      unpublished: backlog.unpublished,
      oldestAgeSeconds: backlog.oldest === null ? null : ageSeconds(backlog.oldest, now),
      setAside: backlog.setAside,
    });
  }
  return {
    sagas: {
      total: Object.values(byStatus).reduce((sum, n) => sum + n, 0),
      byStatus,
      inFlight: byStatus.STARTED + byStatus.IN_PROGRESS + byStatus.COMPENSATING,
      oldestInFlight: oldest === null ? null : {
        ...oldest,
        createdAt: oldest.createdAt.toISOString(),
        ageSeconds: ageSeconds(oldest.createdAt, now),
      },
      ...due,
    },
    outbox,
  };
}

/** The `stats` command. */
export function statsCommand(ctx: CliContext): Command {
  return new Command("stats")
    .description(
      "Show sagas by status, the oldest in flight, retries due, DLQ depth and outbox backlogs",
    )
    .option(
      "--json",
      jsonHelp(
        "{ sagas: { total, byStatus, inFlight, oldestInFlight, dueForRetry, scheduledRetries, overdueSteps }, dlq: { topic, depth, replayed } | null, outbox: [{ service, unpublished, oldestAgeSeconds, setAside }] }",
      ),
    )
    .addHelpText("after", examples(["sagactl stats", "sagactl stats --json | jq .sagas.byStatus"]))
    .action(async (options) => {
      const sql = await ctx.db();
      const now = ctx.now();
      const stats = await readStats(sql, now);
      let dlq: StatsJson["dlq"] = null;
      try {
        const topic = inNamespace(ctx.kafka(), DLQ_TOPIC);
        const marks = await readMarks(await ctx.kafkaAdmin(), topic);
        dlq = {
          topic: DLQ_TOPIC,
          depth: marks.reduce((sum, m) => sum + m.high - m.low, 0),
          replayed: await countReplays(sql, topic),
        };
      } catch (error) {
        const err = printer(ctx.io.stderr, colourWanted(ctx.io.env, ctx.io.stderrIsTerminal));
        err.line(
          err.paint(`warning: DLQ depth unknown: ${(error as Error).message}`, COLOURS.yellow),
        );
      }
      const print = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
      const json: StatsJson = { ...stats, dlq };
      if (options.json) return print.json(json);
      const s = json.sagas;
      print.table(
        ["STATUS", "SAGAS"],
        SAGA_STATUSES.map((status) => [statusCell(status), String(s.byStatus[status])]),
      );
      print.line(`${"TOTAL".padEnd(19)}  ${s.total}`);
      print.line();
      const oldest = s.oldestInFlight;
      print.line(
        `In flight:       ${s.inFlight}${
          oldest === null
            ? ""
            : ` (oldest ${oldest.sagaId}, ${oldest.status} for ${
              formatDuration(oldest.ageSeconds * 1000)
            })`
        }`,
      );
      print.line(
        `Retries:         ${s.dueForRetry} due now, ${s.scheduledRetries} scheduled; ${s.overdueSteps} step(s) overdue`,
      );
      const failed = s.byStatus.COMPENSATION_FAILED;
      print.line(
        `Needs operator:  ${
          failed === 0 ? "0" : print.paint(
            `${failed} COMPENSATION_FAILED (sagactl saga retry --all-failed --dry-run)`,
            COLOURS.red,
          )
        }`,
      );
      print.line(
        `DLQ:             ${
          dlq === null
            ? "unknown (see the warning above)"
            : `${dlq.depth} record(s) in ${dlq.topic}, ${dlq.replayed} replayed`
        }`,
      );
      print.line();
      print.table(
        ["OUTBOX", "UNPUBLISHED", "OLDEST", "SET ASIDE"],
        json.outbox.map((o) => [
          o.service,
          o.unpublished === 0 ? "0" : { text: String(o.unpublished), colour: COLOURS.yellow },
          o.oldestAgeSeconds === null ? NONE : formatDuration(o.oldestAgeSeconds * 1000),
          o.setAside === 0 ? "0" : { text: String(o.setAside), colour: COLOURS.red },
        ]),
      );
      if (json.outbox.some((o) => o.setAside > 0)) {
        print.line(
          print.paint(
            `Set aside: refused by Kafka for good (sagactl dlq list --type OUTBOX_RECORD_REFUSED)`,
            COLOURS.dim,
          ),
        );
      }
    });
}

function ageSeconds(then: Date, now: Date): number {
  return Math.max(0, Math.round((now.getTime() - then.getTime()) / 100) / 10);
}
