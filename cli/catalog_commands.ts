/** `sagactl seed` and `sagactl product list`: the demo catalog, through inventory's products module. */
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { DEMO_CATALOG, seedCatalog } from "../lib/catalog/mod.ts";
import { listProducts, type Product } from "../lib/inventory/mod.ts";
import type { CliContext } from "./context.ts";
import { examples, jsonHelp } from "./help.ts";
import { formatMoney } from "../lib/format/money.ts";
import { COLOURS, colourWanted, printer } from "./output.ts";

/** A product as `product list --json` shows it. */
export type ProductJson = Product;

/** The `seed` and `product` commands. */
export function catalogCommands(ctx: CliContext): CommandUnknownOpts[] {
  const seed = new Command("seed")
    .description(
      "Load the demo catalog into the inventory schema (idempotent: existing products and their stock are kept)",
    )
    .option("--json", jsonHelp("{ added, present, products: Product[] }"))
    .addHelpText("after", examples(["sagactl seed", "sagactl seed --json | jq .added"]))
    .action(async (options) => {
      const sql = await ctx.db();
      const added = await seedCatalog(sql);
      const products = await listProducts(sql);
      const out = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
      if (options.json) {
        out.json({ added, present: DEMO_CATALOG.length - added, products });
        return;
      }
      out.line(
        `Seeded the demo catalog: ${added} product(s) added, ${
          DEMO_CATALOG.length - added
        } already present.`,
      );
      out.line(out.paint("List them with: sagactl product list", COLOURS.dim));
    });

  const product = new Command("product")
    .description("Inspect the product catalog")
    .addHelpText("after", examples(["sagactl product list"]));
  product.command("list")
    .description("List the products with price and stock (available, reserved, total)")
    .option(
      "--json",
      jsonHelp(
        "{ products: [{ productId, sku, name, priceCents, available, reserved, totalStock }] }",
      ),
    )
    .addHelpText(
      "after",
      examples(["sagactl product list", "sagactl product list --json | jq -r '.products[].sku'"]),
    )
    .action(async (options) => {
      const products = await listProducts(await ctx.db());
      const out = printer(ctx.io.stdout, colourWanted(ctx.io.env, ctx.io.stdoutIsTerminal));
      if (options.json) {
        out.json({ products });
        return;
      }
      if (products.length === 0) {
        out.line("No products. Load the demo catalog with: sagactl seed");
        return;
      }
      out.table(
        ["SKU", "PRODUCT ID", "NAME", "PRICE", "AVAILABLE", "RESERVED", "TOTAL"],
        products.map((p) => [
          p.sku,
          p.productId,
          p.name,
          formatMoney(p.priceCents, "usd"),
          p.available === 0 ? { text: "0", colour: COLOURS.red } : String(p.available),
          String(p.reserved),
          String(p.totalStock),
        ]),
      );
    });

  return [seed, product];
}
