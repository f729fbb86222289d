/**
 * The demo catalog: a few products with fixed ids and stock, loaded idempotently through the
 * inventory service's products module by `sagactl seed`, `deno task dev` and `deno task demo`.
 */
import type { Sql } from "../db/mod.ts";
import { type CatalogProduct, insertProducts } from "../inventory/mod.ts";

/** A product of the catalog, with its initial stock. */
export type { CatalogProduct } from "../inventory/mod.ts";

/** The demo products. Their ids are part of the docs: scripts and examples use them. */
export const DEMO_CATALOG: readonly CatalogProduct[] = [
  {
    productId: "8a1f0c4e-0001-4000-8000-000000000001",
    sku: "MUG-BLUE",
    name: "Blue mug",
    priceCents: 1_299,
    stock: 1_000_000,
  },
  {
    productId: "8a1f0c4e-0002-4000-8000-000000000002",
    sku: "TEE-LOGO-M",
    name: "Logo T-shirt (M)",
    priceCents: 2_499,
    stock: 1_000_000,
  },
  {
    productId: "8a1f0c4e-0003-4000-8000-000000000003",
    sku: "BOOK-SAGAS",
    name: "Sagas in practice (book)",
    priceCents: 3_999,
    stock: 1_000_000,
  },
  {
    productId: "8a1f0c4e-0004-4000-8000-000000000004",
    sku: "POSTER-LTD",
    name: "Limited poster (sold out)",
    priceCents: 1_999,
    stock: 0,
  },
];

/** Inserts the catalog's products that are missing; existing stock is left as it is. */
export async function seedCatalog(
  sql: Sql,
  products: readonly CatalogProduct[] = DEMO_CATALOG,
): Promise<number> {
  return await insertProducts(sql, products);
}
