import assert from "node:assert/strict";
import { logName, replicasOf, serviceOf, serviceSpecs } from "./supervisor.ts";

Deno.test("serviceSpecs() starts one process of each service by default", () => {
  const specs = serviceSpecs({});
  assert.deepEqual(specs.map((spec) => spec.name), [
    "stripe",
    "inventory",
    "payment",
    "notification",
    "orchestrator",
  ]);
  assert.equal(
    specs.find((spec) => spec.name === "payment")?.readyUrl,
    "http://127.0.0.1:9103/readyz",
  );
});

Deno.test("serviceSpecs() names each replica and gives it an ops port of its own", () => {
  const specs = serviceSpecs({
    SERVICE_REPLICAS: "2",
    PAYMENT_PORT: "7000",
    PAYMENT_PORT_2: "7777",
  });
  assert.deepEqual(specs.map((spec) => spec.name), [
    "stripe",
    "inventory",
    "payment",
    "notification",
    "orchestrator",
    "inventory#2",
    "payment#2",
    "notification#2",
    "orchestrator#2",
  ]);
  const payment2 = specs.find((spec) => spec.name === "payment#2")!;
  assert.equal(payment2.entry, "services/payment/main.ts");
  assert.equal(payment2.readyUrl, "http://127.0.0.1:7777/readyz");
  assert.deepEqual(payment2.env, { PAYMENT_PORT: "7777" });
  // Without a port of its own: the service's port plus 10 per replica.
  const orchestrator3 = serviceSpecs({}, { replicas: 3 }).find((spec) =>
    spec.name === "orchestrator#3"
  )!;
  assert.deepEqual(orchestrator3.env, { ORCHESTRATOR_PORT: "9121" });
  const ports = specs.map((spec) => new URL(spec.readyUrl).port);
  assert.equal(new Set(ports).size, ports.length);
});

Deno.test("replicasOf() prefers the option, then SERVICE_REPLICAS, and refuses nonsense", () => {
  assert.equal(replicasOf({}), 1);
  assert.equal(replicasOf({ SERVICE_REPLICAS: "3" }), 3);
  assert.equal(replicasOf({ SERVICE_REPLICAS: "3" }, 2), 2);
  assert.throws(() => replicasOf({ SERVICE_REPLICAS: "two" }), RangeError);
  assert.throws(() => replicasOf({}, 0), RangeError);
  assert.throws(() => replicasOf({}, 1.5), RangeError);
});

Deno.test("serviceOf() and logName() read a replica's name", () => {
  assert.equal(serviceOf("payment#2"), "payment");
  assert.equal(serviceOf("payment"), "payment");
  assert.equal(logName("payment#2"), "payment-2");
  assert.equal(logName("payment"), "payment");
});
