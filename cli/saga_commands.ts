/** `sagactl saga list|show|retry`: find sagas, read their state and timeline, repair them. */
import { Command, Option } from "@commander-js/extra-typings";
import { listProducts } from "../lib/inventory/mod.ts";
import { readOrder } from "../lib/orchestrator_store/mod.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import { examples, jsonHelp } from "./help.ts";
import { COLOURS, colourWanted, formatAgo, NONE, printer, statusCell } from "./output.ts";
import { collectStatuses, parseRate, parseSince, parseUuid, positiveInteger } from "./parse.ts";
import { waitTimeoutOption } from "./follow.ts";
import { retryAllFailed, retryOne } from "./saga_retry.ts";
import { listSagas, printSaga, readTimeline, requireSaga, type SagaShowJson } from "./saga_view.ts";

/** The `saga` command. */
export function sagaCommands(ctx: CliContext): Command {
  const saga = new Command("saga")
    .description("Inspect and repair sagas")
    .addHelpText(
      "after",
      examples([
        "sagactl saga list --status COMPENSATION_FAILED",
        "sagactl saga show <sagaId|orderId>",
        "sagactl saga retry <sagaId|orderId> --wait",
      ]),
    );
  const out = () => printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));

  saga.command("list")
    .description("List sagas, newest first, with status, current step and retries")
    .option(
      "-s, --status <statuses>",
      "only these statuses (comma-separated or repeated, any case)",
      collectStatuses,
    )
    .option(
      "--since <when>",
      "only sagas created since a duration ago (15m, 2h, 3d) or an ISO-8601 time",
      (value: string) => parseSince(value),
    )
    .addOption(
      new Option("-n, --limit <n>", "at most this many sagas").argParser(positiveInteger(10_000))
        .default(20),
    )
    .option("--json", jsonHelp("{ sagas: Saga[] } (see saga show --help for Saga)"))
    .addHelpText(
      "after",
      examples([
        "sagactl saga list",
        "sagactl saga list --status COMPENSATION_FAILED,COMPENSATING --since 1h",
        "sagactl saga list --status compensation_failed --json | jq -r '.sagas[].sagaId'",
      ]),
    )
    .action(async (options) => {
      const sagas = await listSagas(await ctx.db(), {
        ...(options.status === undefined ? {} : { statuses: options.status }),
        ...(options.since === undefined ? {} : { since: options.since }),
        limit: options.limit,
      });
      const print = out();
      if (options.json) return print.json({ sagas });
      if (sagas.length === 0) return print.line("No sagas match.");
      const now = ctx.now();
      print.table(
        ["SAGA ID", "ORDER ID", "STATUS", "STEP", "RETRIES", "NEXT RETRY", "CREATED"],
        sagas.map((s) => [
          s.sagaId,
          s.orderId,
          statusCell(s.status),
          s.step ?? NONE,
          String(s.retryCount),
          s.nextRetryAt === null ? NONE : formatAgo(new Date(s.nextRetryAt), now),
          formatAgo(new Date(s.createdAt), now),
        ]),
      );
      if (sagas.length === options.limit) {
        print.line(print.paint(`(first ${options.limit}; use --limit for more)`, COLOURS.dim));
      }
    });

  saga.command("show")
    .description("Show a saga's state, order and full timeline (from the saga history)")
    .argument("<id>", "saga id or order id", parseUuid)
    .option(
      "--json",
      jsonHelp("{ saga: Saga, order: Order | null, timeline: TimelineEntry[] }"),
    )
    .addHelpText(
      "after",
      `
JSON shapes (stable; times are ISO-8601 UTC, absent values null):
  Saga          { sagaId, orderId, type, status, orderStatus, step, phase, completedSteps,
                  pendingCompensations, retryCount, nextRetryAt, deadlineAt,
                  failure: { step, code, reason } | null, createdAt, updatedAt }
  Order         { orderId, customerId, customerEmail, paymentMethod, currency, totalCents,
                  items: [{ productId, quantity, unitPriceCents }] }
  TimelineEntry { at, fromStatus, toStatus, step, eventType, eventId, outcome, actor, note }
${
        examples([
          "sagactl saga show 6d0c2f5e-8d7a-4c1e-9f0b-1a2b3c4d5e6f",
          "sagactl saga show <orderId> --json | jq '.timeline[] | .eventType'",
        ])
      }`,
    )
    .action(async (id, options) => {
      const sql = await ctx.db();
      const found = await requireSaga(sql, id);
      const [order, timeline] = await Promise.all([
        readOrder(sql, found.orderId),
        readTimeline(sql, found.sagaId),
      ]);
      const print = out();
      if (options.json) {
        return print.json({ saga: found, order, timeline } satisfies SagaShowJson);
      }
      const products = new Map((await listProducts(sql)).map((p) => [p.productId, p.sku]));
      printSaga(print, { saga: found, order, timeline }, { now: ctx.now(), products });
    });

  saga.command("retry")
    .description(
      "Send the pending compensation of a COMPENSATION_FAILED saga again, with a fresh retry count; recorded in its timeline as operator:$USER",
    )
    .argument("[id]", "saga id or order id", parseUuid)
    .option("--all-failed", "retry every COMPENSATION_FAILED saga (prints the plan first)")
    .option("--dry-run", "print what would be retried and change nothing")
    .addOption(
      new Option("--rate <n/s>", "with --all-failed: at most this many retries per second")
        .argParser(parseRate)
        .default(10, "10/s"),
    )
    .option(
      "-y, --yes",
      "with --all-failed: do not ask for confirmation (needed without a terminal)",
    )
    .option("-w, --wait", "with one saga: follow it until it ends again (exit 0 if COMPENSATED)")
    .addOption(waitTimeoutOption())
    .option(
      "--json",
      jsonHelp(
        "{ dryRun, actor, retries: [{ sagaId, orderId, result, fromStatus, toStatus, step, commandType, commandId, reason, note }], wait: { outcome, exitCode, elapsedMs, live } | null, saga }",
      ),
    )
    .addHelpText(
      "after",
      `
Only a COMPENSATION_FAILED saga can be retried: any other status is refused (exit 1) and
nothing is written. Fix the cause first (e.g. the refund the payment provider refused), then
retry. With --wait, exit 0 when the saga reaches COMPENSATED, 3 when it ends otherwise
(e.g. COMPENSATION_FAILED again), 4 on timeout.
${
        examples([
          "sagactl saga retry 6d0c2f5e-8d7a-4c1e-9f0b-1a2b3c4d5e6f --wait",
          "sagactl saga retry --all-failed --dry-run",
          "sagactl saga retry --all-failed --rate 2/s --yes",
        ])
      }`,
    )
    .action(async (id, options) => {
      if (options.allFailed && id !== undefined) {
        throw new UsageError("Give a saga id or --all-failed, not both", {
          command: "saga retry",
        });
      }
      if (!options.allFailed && id === undefined) {
        throw new UsageError("Missing the saga id or order id to retry (or --all-failed)", {
          command: "saga retry",
        });
      }
      if (options.allFailed && options.wait) {
        throw new UsageError("--wait follows one saga; it cannot be used with --all-failed", {
          command: "saga retry",
        });
      }
      if (options.allFailed) {
        return await retryAllFailed(ctx, {
          dryRun: options.dryRun === true,
          rate: options.rate,
          yes: options.yes === true,
          json: options.json === true,
        });
      }
      await retryOne(ctx, id!, {
        dryRun: options.dryRun === true,
        wait: options.wait === true,
        timeoutMs: options.timeout,
        json: options.json === true,
      });
    });

  return saga;
}
