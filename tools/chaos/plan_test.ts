import assert from "node:assert/strict";
import {
  CLUSTER_FAULTS,
  CLUSTER_NODES,
  EXCLUSIVE_FAULTS,
  FAULT_KINDS,
  faultKindsFor,
  KILLABLE_SERVICES,
  parseFaultKinds,
  planFaults,
  replicaVictims,
} from "./plan.ts";
import { createPrng } from "../../testing/prng.ts";

const OPTIONS = {
  kinds: FAULT_KINDS,
  startMs: 10_000,
  endMs: 370_000,
  killsPerService: 3,
  rounds: 2,
  stepTimeoutMs: 6_000,
};

Deno.test("planFaults() plans every kind, three kills per service, sorted, inside the window", () => {
  const plan = planFaults(createPrng(1), OPTIONS);
  for (const kind of faultKindsFor(FAULT_KINDS, 1)) {
    assert.ok(plan.some((f) => f.kind === kind), kind);
  }
  for (const service of KILLABLE_SERVICES) {
    assert.equal(plan.filter((f) => f.kind === "kill" && f.service === service).length, 3);
  }
  assert.ok(plan.length >= 20);
  assert.deepEqual(plan.map((f) => f.atMs), plan.map((f) => f.atMs).sort((a, b) => a - b));
  for (const fault of plan) assert.ok(fault.atMs >= 10_000 && fault.atMs <= 370_000);
});

Deno.test("planFaults() spreads the exclusive faults one per slot and outlasts the step timeout", () => {
  const plan = planFaults(createPrng(2), OPTIONS);
  const exclusive = plan.filter((f) => EXCLUSIVE_FAULTS.has(f.kind));
  // One broker: the cluster faults are not chosen.
  assert.equal(exclusive.length, (EXCLUSIVE_FAULTS.size - CLUSTER_FAULTS.size) * 2);
  const slot = (370_000 - 10_000) * 0.75 / exclusive.length;
  for (let i = 1; i < exclusive.length; i++) {
    assert.ok(exclusive[i]!.atMs - exclusive[i - 1]!.atMs >= slot * 0.5 - 1);
  }
  for (const fault of plan) {
    if (fault.kind === "stripe") assert.ok(fault.stallMs > OPTIONS.stepTimeoutMs);
    if (fault.kind === "replica") assert.ok(fault.downMs > 15_000, "longer than a session");
  }
});

Deno.test("planFaults() is the same for the same seed and plans only the kinds asked for", () => {
  assert.deepEqual(planFaults(createPrng(3), OPTIONS), planFaults(createPrng(3), OPTIONS));
  const plan = planFaults(createPrng(3), { ...OPTIONS, kinds: ["poison", "late"], rounds: 1 });
  assert.deepEqual(plan.map((f) => f.kind).sort(), ["late", "poison"]);
  assert.throws(() => planFaults(createPrng(3), { ...OPTIONS, endMs: 0 }), RangeError);
});

Deno.test("parseFaultKinds() reads a list or all, and names a kind it does not know", () => {
  assert.deepEqual(parseFaultKinds("all"), [...FAULT_KINDS]);
  assert.deepEqual(parseFaultKinds("kill, poison,kill"), ["kill", "poison"]);
  assert.deepEqual(parseFaultKinds(""), []);
  assert.throws(() => parseFaultKinds("kill,meteor"), /^RangeError: Unknown fault "meteor"/);
});

Deno.test("planFaults() kills one replica of a service at a time, any of them, with replicas", () => {
  const single = planFaults(createPrng(4), OPTIONS);
  for (const fault of single) {
    if (fault.kind === "kill") assert.equal(fault.process, fault.service);
    if (fault.kind === "replica") assert.match(fault.victim, /^orchestrator(#2)?$/);
  }
  const plan = planFaults(createPrng(4), { ...OPTIONS, killsPerService: 12, replicas: 2 });
  const killed = new Set(plan.flatMap((f) => f.kind === "kill" ? [f.process] : []));
  for (const service of KILLABLE_SERVICES) {
    assert.ok(killed.has(service), service);
    assert.ok(killed.has(`${service}#2`), `${service}#2`);
  }
  for (const fault of plan) {
    if (fault.kind === "kill") assert.equal(fault.process.split("#")[0], fault.service);
  }
  assert.deepEqual(replicaVictims(1), ["orchestrator", "orchestrator#2"]);
  assert.equal(replicaVictims(3).length, KILLABLE_SERVICES.length * 3);
  assert.ok(replicaVictims(3).includes("payment#3"));
});

Deno.test("planFaults() with 3 brokers plans the cluster faults in place of the broker fault", () => {
  const single = planFaults(createPrng(5), OPTIONS);
  assert.ok(single.some((f) => f.kind === "broker"));
  assert.ok(!single.some((f) => CLUSTER_FAULTS.has(f.kind)), "no cluster fault with 1 broker");
  const plan = planFaults(createPrng(5), { ...OPTIONS, brokers: 3 });
  assert.ok(!plan.some((f) => f.kind === "broker"), "the single broker is not stopped");
  for (const kind of CLUSTER_FAULTS) {
    assert.equal(plan.filter((f) => f.kind === kind).length, 2, kind);
  }
  for (const fault of plan) {
    if (fault.kind === "broker-kill" || fault.kind === "broker-pause") {
      assert.ok(CLUSTER_NODES.includes(fault.node), `node ${fault.node}`);
    }
    if (fault.kind === "broker-pause") assert.ok(fault.downMs > 15_000, "longer than a session");
  }
  // One node away at a time: every cluster fault is exclusive, spread one per slot.
  const exclusive = plan.filter((f) => EXCLUSIVE_FAULTS.has(f.kind));
  assert.equal(exclusive.length, (EXCLUSIVE_FAULTS.size - 1) * 2);
  const slot = (370_000 - 10_000) * 0.75 / exclusive.length;
  for (let i = 1; i < exclusive.length; i++) {
    assert.ok(exclusive[i]!.atMs - exclusive[i - 1]!.atMs >= slot * 0.5 - 1);
  }
});

Deno.test("faultKindsFor() drops the kinds the brokers cannot have and keeps the order", () => {
  assert.deepEqual(faultKindsFor(["late", "broker", "broker-kill", "kill"], 1), [
    "late",
    "broker",
    "kill",
  ]);
  assert.deepEqual(faultKindsFor(["late", "broker", "broker-kill", "kill"], 3), [
    "late",
    "broker-kill",
    "kill",
  ]);
  assert.deepEqual(
    faultKindsFor(FAULT_KINDS, 3).filter((kind) => CLUSTER_FAULTS.has(kind)),
    ["broker-kill", "controller-kill", "broker-pause"],
  );
});
