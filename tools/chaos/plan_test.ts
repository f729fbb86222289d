import assert from "node:assert/strict";
import {
  EXCLUSIVE_FAULTS,
  FAULT_KINDS,
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
  for (const kind of FAULT_KINDS) assert.ok(plan.some((f) => f.kind === kind), kind);
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
  assert.equal(exclusive.length, EXCLUSIVE_FAULTS.size * 2);
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
