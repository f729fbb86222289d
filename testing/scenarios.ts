/**
 * One order of each kind the system must handle, with the saga outcome it must reach. The demo,
 * the end-to-end tests and the fault tests all place these.
 */
import { type CatalogProduct, DEMO_CATALOG } from "../lib/catalog/mod.ts";
import type { OrderItem } from "../lib/messages/mod.ts";
import type { SagaStatus } from "../lib/saga/mod.ts";
import type { OrderRequest } from "../lib/orders/mod.ts";

/** A kind of order and the final saga status it must reach. */
export interface OrderScenario {
  name: string;
  expected: SagaStatus;
  request: OrderRequest;
}

function product(sku: string): CatalogProduct {
  const found = DEMO_CATALOG.find((p) => p.sku === sku);
  if (found === undefined) throw new RangeError(`No product with SKU "${sku}" in the demo catalog`);
  return found;
}

function item(sku: string, quantity: number): OrderItem {
  const { productId, priceCents } = product(sku);
  return { productId, quantity, unitPriceCents: priceCents };
}

/** The five outcomes of DESIGN §4 and §7. */
export const DEMO_SCENARIOS: readonly OrderScenario[] = [
  {
    name: "success",
    expected: "COMPLETED",
    request: {
      items: [item("MUG-BLUE", 2), item("BOOK-SAGAS", 1)],
      customerEmail: "ada@example.com",
      paymentMethod: "pm_card_visa",
    },
  },
  {
    name: "declined card",
    expected: "COMPENSATED",
    request: {
      items: [item("MUG-BLUE", 1)],
      customerEmail: "bob@example.com",
      paymentMethod: "pm_card_chargeDeclined",
    },
  },
  {
    name: "undeliverable email",
    expected: "COMPENSATED",
    request: {
      items: [item("BOOK-SAGAS", 1)],
      customerEmail: "carol@example.invalid",
      paymentMethod: "pm_card_visa",
    },
  },
  {
    name: "out of stock",
    expected: "FAILED",
    request: {
      items: [item("POSTER-LTD", 1)],
      customerEmail: "dan@example.com",
      paymentMethod: "pm_card_visa",
    },
  },
  {
    name: "refund fails",
    expected: "COMPENSATION_FAILED",
    request: {
      items: [item("TEE-LOGO-M", 1)],
      customerEmail: "erin@example.invalid",
      paymentMethod: "pm_card_refundFail",
    },
  },
];
