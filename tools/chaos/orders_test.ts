import assert from "node:assert/strict";
import { decodeMessage } from "../../lib/messages/mod.ts";
import { asConsumed } from "../../testing/kafka.ts";
import { planOrders, planProbe } from "./orders.ts";
import { createPrng } from "../../testing/prng.ts";

Deno.test("planOrders() replays the same orders, arrival times and records for a seed", () => {
  const plan = (seed: number) =>
    planOrders(createPrng(seed), { count: 50, ratePerSecond: 10 }).map((planned) => {
      // The record's metadata carries the time it was built; everything else replays.
      const { timestamp: _, ...metadata } = JSON.parse(planned.record.headers.metadata!);
      return { ...planned, record: { ...planned.record, headers: metadata } };
    });
  assert.deepEqual(plan(9), plan(9));
  assert.notDeepEqual(plan(9).map((o) => o.order.orderId), plan(10).map((o) => o.order.orderId));
});

Deno.test("planOrders() mixes the five scenarios at the rate asked for, as valid ORDER_CREATED records", () => {
  const plan = planOrders(createPrng(11), { count: 2_000, ratePerSecond: 8 });
  const byScenario = new Map<string, number>();
  for (const planned of plan) {
    byScenario.set(planned.scenario.name, (byScenario.get(planned.scenario.name) ?? 0) + 1);
  }
  assert.equal(byScenario.size, 5);
  assert.ok(byScenario.get("success")! > 900 && byScenario.get("success")! < 1_100);
  const seconds = plan.at(-1)!.atMs / 1_000;
  assert.ok(seconds > 2_000 / 8 * 0.9 && seconds < 2_000 / 8 * 1.1, `${seconds} s`);
  for (let i = 1; i < plan.length; i++) assert.ok(plan[i]!.atMs >= plan[i - 1]!.atMs);
  for (const planned of plan.slice(0, 50)) {
    const message = decodeMessage(asConsumed(planned.record));
    assert.equal(message.eventType, "ORDER_CREATED");
    assert.deepEqual(message.body, planned.order);
  }
  assert.equal(new Set(plan.map((p) => p.order.orderId)).size, plan.length);
});

Deno.test("planOrders() refuses a count or rate that makes no sense", () => {
  assert.throws(() => planOrders(createPrng(1), { count: -1, ratePerSecond: 1 }), RangeError);
  assert.throws(() => planOrders(createPrng(1), { count: 1, ratePerSecond: 0 }), RangeError);
});

Deno.test("planProbe() is a success order of its own", () => {
  const probe = planProbe(createPrng(1), 7);
  assert.equal(probe.scenario.expected, "COMPLETED");
  assert.equal(decodeMessage(asConsumed(probe.record)).metadata.orderId, probe.order.orderId);
});
