/**
 * The inventory service's products (`inventory.products`): the one owner of that table's SQL.
 * The inventory service locks and adjusts stock through it; `sagactl` seeds, lists and looks
 * products up through it, never through the table.
 */
import type { Sql, TransactionSql } from "../db/mod.ts";

/** A product as its readers see it. */
export interface Product {
  productId: string;
  sku: string;
  name: string;
  priceCents: number;
  available: number;
  /** Held by active reservations: `totalStock - available`. */
  reserved: number;
  totalStock: number;
}

/** A product to add to the catalog, with its initial stock. */
export interface CatalogProduct {
  productId: string;
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** A product as a reservation sees it (its row locked). */
export interface StockRow {
  sku: string;
  available: number;
  priceCents: number;
}

const PRODUCT_COLUMNS = `
  product_id as "productId", sku, name, price_cents as "priceCents", available,
  (total_stock - available) as reserved, total_stock as "totalStock"`;

/** Inserts the products that are missing; existing ones and their stock are left as they are. */
export async function insertProducts(
  sql: Sql,
  products: readonly CatalogProduct[],
): Promise<number> {
  const rows = products.map((p) => ({
    product_id: p.productId,
    sku: p.sku,
    name: p.name,
    price_cents: p.priceCents,
    available: p.stock,
    total_stock: p.stock,
  }));
  const inserted = await sql`
    insert into inventory.products ${
    sql(rows, "product_id", "sku", "name", "price_cents", "available", "total_stock")
  }
    on conflict (product_id) do nothing
    returning product_id`;
  return inserted.length;
}

/** Every product, by SKU. */
export async function listProducts(sql: Sql): Promise<Product[]> {
  const rows = await sql<Product[]>`
    select ${sql.unsafe(PRODUCT_COLUMNS)} from inventory.products order by sku`;
  return [...rows];
}

/** The products with these ids or SKUs (each at most once, in no particular order). */
export async function findProducts(
  sql: Sql,
  refs: { productIds: readonly string[]; skus: readonly string[] },
): Promise<Product[]> {
  const rows = await sql<Product[]>`
    select ${sql.unsafe(PRODUCT_COLUMNS)} from inventory.products
    where product_id::text = any(${[...refs.productIds]}) or sku = any(${[...refs.skus]})`;
  return [...rows];
}

/**
 * The stock rows (SKU, available stock, price) of the products with these ids and of those the
 * reservations of `reservedBy` (order ids) hold, by product id, locked in id order and in one
 * statement: chunks handled at the same time queue on their first shared product instead of
 * deadlocking.
 */
export async function lockStock(
  tx: TransactionSql,
  options: { productIds: readonly string[]; reservedBy?: readonly string[] },
): Promise<Map<string, StockRow>> {
  const reservedBy = options.reservedBy ?? [];
  if (options.productIds.length === 0 && reservedBy.length === 0) return new Map();
  // The reservations' products as an array (an InitPlan, run once), not `or product_id in
  // (...)`: an `or` with a subquery cannot use the primary key and scans every product.
  const rows = await tx<({ product_id: string } & StockRow)[]>`
    select product_id, sku, available, price_cents as "priceCents" from inventory.products
    where product_id = any(${[...options.productIds]}::uuid[] || array(
      select product_id from inventory.reservation_items
      where order_id = any(${[...reservedBy]}::uuid[])))
    order by product_id for update`;
  return new Map(
    rows.map(({ product_id, sku, available, priceCents }) => [
      product_id,
      { sku, available, priceCents },
    ]),
  );
}

/**
 * Adds each product's delta to its available stock, in one statement (product ids in lower case,
 * as PostgreSQL writes a uuid). It locks the rows first, in product id order as `lockStock`
 * does: a chunk's `lockStock` holds them by then, but another writer takes them here, and
 * whatever order the join visits the rows in, it hands the update a product only after `locked`
 * has locked it, so no deadlock with a concurrent chunk.
 */
export async function adjustStock(
  tx: TransactionSql,
  deltas: ReadonlyMap<string, number>,
): Promise<void> {
  if (deltas.size === 0) return;
  const productIds = [...deltas.keys()];
  await tx`
    with locked as materialized (
      select product_id from inventory.products
      where product_id = any(${productIds}::uuid[])
      order by product_id
      for update
    )
    update inventory.products p
    set available = p.available + d.delta, updated_at = now()
    from locked
    join unnest(${productIds}::uuid[], ${[...deltas.values()]}::int[]) as d (product_id, delta)
      using (product_id)
    where p.product_id = locked.product_id`;
}
