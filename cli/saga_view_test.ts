import assert from "node:assert/strict";
import { printer } from "./output.ts";
import { printSaga, type SagaShowJson } from "./saga_view.ts";

const at = "2026-12-01T10:00:00.000Z";
const sagaId = "3e0a5f3c-9d1b-4c8e-a7f2-6b5d4c3b2a10";
const orderId = "0b6f2a52-6a83-4b55-9d8e-9a5d8f3f5c01";
const productId = "5a0c4e4b-1b7b-4b8e-9f3c-0d7a3c2e1f01";

function shown(currency: string, unitPriceCents: number, quantity: number): string {
  const view: SagaShowJson = {
    saga: {
      sagaId,
      orderId,
      type: "order",
      status: "COMPLETED",
      orderStatus: "CONFIRMED",
      step: null,
      phase: null,
      completedSteps: 3,
      pendingCompensations: [],
      retryCount: 0,
      nextRetryAt: null,
      deadlineAt: null,
      failure: null,
      createdAt: at,
      updatedAt: at,
    },
    order: {
      orderId,
      customerId: sagaId,
      customerEmail: "ada@example.com",
      paymentMethod: "pm_card_visa",
      currency,
      totalCents: unitPriceCents * quantity,
      items: [{ productId, quantity, unitPriceCents }],
    },
    timeline: [],
  };
  let out = "";
  printSaga(printer((text) => (out += text), false), view, {
    now: new Date(at),
    products: new Map([[productId, "Tea bowl"]]),
  });
  return out;
}

Deno.test("printSaga() writes amounts in the order's currency, zero-decimal ones too", () => {
  assert.match(shown("usd", 1_299, 2), /Items\s+2 × Tea bowl @ \$12\.99 = \$25\.98/);
  // A yen is the minor unit: 500 is ¥500, not ¥5.00.
  assert.match(shown("jpy", 500, 3), /Items\s+3 × Tea bowl @ ¥500 = ¥1,500/);
  assert.match(shown("bhd", 1_234, 1), /@ BHD\u00a01\.234 = BHD\u00a01\.234/);
});
