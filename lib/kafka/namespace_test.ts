import assert from "node:assert/strict";
import { bindNamespace, inNamespace, namespaceOf, outOfNamespace } from "./namespace.ts";

Deno.test("inNamespace() leaves names alone for a client without a namespace", () => {
  const client = bindNamespace({}, "");
  assert.equal(namespaceOf(client), "");
  assert.equal(inNamespace(client, "orders"), "orders");
  assert.equal(outOfNamespace(client, "orders"), "orders");
});

Deno.test("inNamespace() and outOfNamespace() add and remove the client's prefix", () => {
  const client = bindNamespace({}, "e2e-1a2b");
  assert.equal(inNamespace(client, "payment.commands"), "e2e-1a2b.payment.commands");
  assert.equal(outOfNamespace(client, "e2e-1a2b.payment.commands"), "payment.commands");
  assert.equal(
    outOfNamespace(client, "other.orders"),
    "other.orders",
    "foreign names pass through",
  );
});
