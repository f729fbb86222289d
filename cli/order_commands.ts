/**
 * `sagactl order create`: publishes a real `ORDER_CREATED` to `orders` (DESIGN §3) and, with
 * `--wait`, follows the saga it starts to its end.
 */
import { Command } from "@commander-js/extra-typings";
import type { Sql } from "../lib/db/mod.ts";
import { findProducts } from "../lib/inventory/mod.ts";
import { OrderCreated, type OrderItem, orderTotalCents } from "../lib/messages/mod.ts";
import { newOrder, placeOrder } from "../lib/orders/mod.ts";
import type { CliContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import {
  followSaga,
  outcomeLine,
  progressLine,
  waitExitCode,
  waitJson,
  waitTimeoutOption,
} from "./follow.ts";
import { examples, jsonHelp } from "./help.ts";
import { formatMoney } from "../lib/format/money.ts";
import { COLOURS, colourWanted, formatDuration, printer } from "./output.ts";
import { collectItem, type ItemArg, parseEmail, parsePaymentMethod, parseUuid } from "./parse.ts";
import type { SagaJson } from "./saga_view.ts";

/** The item ordered when no `--item` is given. */
export const DEFAULT_ITEM: ItemArg = { product: { sku: "MUG-BLUE" }, quantity: 1 };

/** What `order create --json` prints. */
export interface OrderCreateJson {
  orderId: string;
  /** The `eventId` of the `ORDER_CREATED` record. */
  eventId: string;
  /** The `ORDER_CREATED` body as published. */
  order: OrderCreated;
  totalCents: number;
  /** With `--wait`: how the wait ended; null without. */
  wait: {
    /** The final saga status, or `TIMEOUT`. */
    outcome: string;
    exitCode: number;
    elapsedMs: number;
    live: "redis" | "postgres";
  } | null;
  /** With `--wait`: the saga as last read (null if never stored); null without. */
  saga: SagaJson | null;
}

/** A resolved line of the order, with the product's name for display. */
interface ResolvedItem extends OrderItem {
  name: string;
}

/** Looks the products up (by id or SKU) and merges repeated products into one line each. */
export async function resolveItems(sql: Sql, items: readonly ItemArg[]): Promise<ResolvedItem[]> {
  const ids = items.flatMap((i) => "productId" in i.product ? [i.product.productId] : []);
  const skus = items.flatMap((i) => "sku" in i.product ? [i.product.sku] : []);
  const products = await findProducts(sql, { productIds: ids, skus });
  const lines = new Map<string, ResolvedItem>();
  for (const item of items) {
    const product = products.find((p) =>
      "productId" in item.product ? p.productId === item.product.productId : p.sku ===
        item.product.sku
    );
    if (product === undefined) {
      const ref = "productId" in item.product ? item.product.productId : item.product.sku;
      throw new Error(
        `Cannot create the order: no product "${ref}" in the catalog (see sagactl product list)`,
      );
    }
    const line = lines.get(product.productId);
    lines.set(product.productId, {
      productId: product.productId,
      quantity: (line?.quantity ?? 0) + item.quantity,
      unitPriceCents: product.priceCents,
      name: product.name,
    });
  }
  return [...lines.values()];
}

/** The `order` command. */
export function orderCommands(ctx: CliContext): Command {
  const order = new Command("order")
    .description("Place orders (each starts a saga)")
    .addHelpText("after", examples(["sagactl order create --item MUG-BLUE:2 --wait"]));
  order.command("create")
    .description(
      "Publish an ORDER_CREATED to the orders topic; with --wait, follow its saga live to the end",
    )
    .option(
      "-i, --item <productId:qty>",
      "a product (UUID or SKU) and quantity; repeat for more lines (default MUG-BLUE:1)",
      collectItem,
      [] as ItemArg[],
    )
    .option(
      "-p, --payment-method <pm>",
      "Stripe test PaymentMethod: pm_card_visa succeeds, pm_card_chargeDeclined declines, pm_card_refundFail charges but cannot be refunded",
      parsePaymentMethod,
      "pm_card_visa",
    )
    .option(
      "-e, --email <address>",
      "customer email (an address at .invalid cannot be notified, which rolls the order back)",
      parseEmail,
      "customer@example.com",
    )
    .option("--customer <uuid>", "customer id (default: a new one)", parseUuid)
    .option(
      "--order-id <uuid>",
      "order id (default: a new one); reusing one starts no second saga",
      parseUuid,
    )
    .option("-w, --wait", "follow the saga live until it ends; the exit code tells the outcome")
    .addOption(waitTimeoutOption())
    .option(
      "--json",
      jsonHelp(
        "{ orderId, eventId, order, totalCents, wait: { outcome, exitCode, elapsedMs, live } | null, saga }",
      ),
    )
    .addHelpText(
      "after",
      `
Exit codes with --wait: 0 the saga COMPLETED; 3 it ended otherwise (COMPENSATED, FAILED,
COMPENSATION_FAILED or CANCELLED; the output says which); 4 --timeout passed first. Without
--wait: 0 once the order is on the topic.
${
        examples([
          "sagactl order create --item MUG-BLUE:2 --item BOOK-SAGAS:1 --wait",
          "sagactl order create --payment-method pm_card_chargeDeclined --wait   # exit 3: COMPENSATED",
          "sagactl order create -i 8a1f0c4e-0002-4000-8000-000000000002:1 -p pm_card_refundFail -e erin@example.invalid -w",
          "sagactl order create --wait --timeout 10s --json | jq .wait.outcome",
        ])
      }`,
    )
    .action(async (options) => {
      const sql = await ctx.db();
      const items = await resolveItems(
        sql,
        options.item.length > 0 ? options.item : [DEFAULT_ITEM],
      );
      const producer = await ctx.producer();
      const body = newOrder({
        items: items.map(({ productId, quantity, unitPriceCents }) => ({
          productId,
          quantity,
          unitPriceCents,
        })),
        customerEmail: options.email,
        paymentMethod: options.paymentMethod,
        ...(options.customer === undefined ? {} : { customerId: options.customer }),
        ...(options.orderId === undefined ? {} : { orderId: options.orderId }),
      });
      const checked = OrderCreated.safeParse(body);
      if (!checked.success) {
        const issue = checked.error.issues[0]!;
        throw new UsageError(
          `Cannot place the order: ${issue.path.join(".")}: ${issue.message}`,
          { command: "order create" },
        );
      }
      const json = options.json === true;
      const out = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
      // Progress goes to stdout for humans; with --json, to stderr and only on a terminal.
      const progress = json
        ? (ctx.io.stderrIsTerminal ? printer(ctx.io.stderr, colourWanted(ctx.io.env, true)) : null)
        : out;
      const total = orderTotalCents(body);
      const summary = `${items.map((i) => `${i.quantity} × ${i.name}`).join(", ")} = ${
        formatMoney(total, body.currency)
      }, ${body.paymentMethod}, ${body.customerEmail}`;
      let eventId = "";
      const place = async () => {
        eventId = await placeOrder(producer, body);
        progress?.line(`Placed order ${body.orderId}: ${summary}`);
      };
      if (!options.wait) {
        await place();
        if (json) {
          out.json({
            orderId: body.orderId,
            eventId,
            order: body,
            totalCents: total,
            wait: null,
            saga: null,
          });
        } else {
          out.line(out.paint(`Follow it with: sagactl saga show ${body.orderId}`, COLOURS.dim));
        }
        return;
      }
      const startedAt = Date.now();
      const result = await followSaga(ctx, {
        orderId: body.orderId,
        timeoutMs: options.timeout,
        start: async () => {
          await place();
          progress?.line(
            progress.paint(
              `Waiting up to ${formatDuration(options.timeout)} for its saga…`,
              COLOURS.dim,
            ),
          );
        },
        onProgress: (line) => progress?.line(progressLine(progress, line, startedAt)),
        onNote: (text) => progress?.line(progress.paint(text, COLOURS.yellow)),
      });
      const exitCode = waitExitCode(result, "COMPLETED");
      ctx.exitCode = exitCode;
      if (json) {
        out.json(
          {
            orderId: body.orderId,
            eventId,
            order: body,
            totalCents: total,
            wait: waitJson(result, exitCode),
            saga: result.saga,
          } satisfies OrderCreateJson,
        );
        return;
      }
      out.line(outcomeLine(out, result, options.timeout, body.orderId));
    });
  return order;
}
