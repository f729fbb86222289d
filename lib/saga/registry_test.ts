import assert from "node:assert/strict";
import type { SagaDefinition } from "./definition.ts";
import { sagaRegistry } from "./registry.ts";

function definition(name: string, startEvent: string): SagaDefinition<null, null> {
  return {
    name,
    start: { eventType: startEvent, key: () => "k", data: () => null },
    steps: [],
    domainStatus: (status) => status,
  };
}

Deno.test("sagaRegistry() finds a definition by saga type and by its start event", () => {
  const order = definition("order", "ORDER_PLACED");
  const transfer = definition("transfer", "TRANSFER_REQUESTED");
  const registry = sagaRegistry([order, transfer]);
  assert.equal(registry.byType("transfer"), transfer);
  assert.equal(registry.startedBy("ORDER_PLACED"), order);
  assert.equal(registry.startedBy("DEBITED"), undefined);
  assert.deepEqual(registry.definitions, [order, transfer]);
  assert.throws(
    () => registry.byType("refund"),
    /^RangeError: Cannot run a saga of type "refund": no definition is registered for it \(known: order, transfer\)$/,
  );
});

Deno.test("sagaRegistry() refuses two definitions of one saga type or one start event", () => {
  assert.throws(
    () => sagaRegistry([definition("order", "A"), definition("order", "B")]),
    /Cannot register saga type "order" twice/,
  );
  assert.throws(
    () => sagaRegistry([definition("order", "A"), definition("transfer", "A")]),
    /Cannot register saga type "transfer": A starts "order" already/,
  );
});
