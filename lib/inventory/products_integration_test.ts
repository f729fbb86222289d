import assert from "node:assert/strict";
import { withTestDatabase } from "../../testing/db.ts";
import { withTransaction } from "../db/mod.ts";
import { adjustStock, findProducts, insertProducts, listProducts } from "./products.ts";

const MUG = {
  productId: "10000000-0000-4000-8000-000000000001",
  sku: "MUG",
  name: "Mug",
  priceCents: 1_299,
  stock: 5,
};
const BOOK = {
  productId: "20000000-0000-4000-8000-000000000002",
  sku: "BOOK",
  name: "Book",
  priceCents: 3_999,
  stock: 2,
};

Deno.test("insertProducts() adds the missing products only and keeps the stock of the others", async () => {
  await withTestDatabase(async ({ sql }) => {
    assert.equal(await insertProducts(sql, [MUG]), 1);
    await withTransaction(
      sql,
      (tx) => adjustStock(tx, new Map([[MUG.productId, -2]])),
    );
    assert.equal(await insertProducts(sql, [MUG, BOOK]), 1);
    assert.deepEqual(await listProducts(sql), [
      {
        productId: BOOK.productId,
        sku: "BOOK",
        name: "Book",
        priceCents: 3_999,
        available: 2,
        reserved: 0,
        totalStock: 2,
      },
      {
        productId: MUG.productId,
        sku: "MUG",
        name: "Mug",
        priceCents: 1_299,
        available: 3,
        reserved: 2,
        totalStock: 5,
      },
    ]);
  });
});

Deno.test("findProducts() finds products by id or by SKU, and nothing for unknown ones", async () => {
  await withTestDatabase(async ({ sql }) => {
    await insertProducts(sql, [MUG, BOOK]);
    const found = await findProducts(sql, { productIds: [MUG.productId], skus: ["BOOK", "NONE"] });
    assert.deepEqual(found.map((p) => p.sku).sort(), ["BOOK", "MUG"]);
    assert.deepEqual(await findProducts(sql, { productIds: [], skus: ["NONE"] }), []);
  });
});
