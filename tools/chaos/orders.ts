/**
 * The chaos run's storefront: a seeded plan of orders (a mix of the five demo scenarios arriving
 * as a Poisson process at a given rate) and an open-loop generator that places each one at its
 * time whatever happens to the system, retrying the same record until Kafka takes it.
 */
import type { Producer } from "kafkajs";
import { sleep } from "../../lib/async/mod.ts";
import { publish } from "../../lib/kafka/producer.ts";
import { encodeMessage, type OrderCreated, type WireRecord } from "../../lib/messages/mod.ts";
import { newOrder } from "../../lib/orders/mod.ts";
import { DEMO_SCENARIOS, type OrderScenario } from "../../testing/scenarios.ts";
import type { Prng } from "../../testing/prng.ts";

/** One order of the plan. */
export interface PlannedOrder {
  index: number;
  /** When to place it, in ms after the generator starts. */
  atMs: number;
  scenario: OrderScenario;
  order: OrderCreated;
  /** The `ORDER_CREATED` record, built once: a retry resends the same eventId. */
  record: WireRecord;
}

/** How often each scenario (by name) comes up; the rest of the weight goes to `success`. */
export const DEFAULT_MIX: Readonly<Record<string, number>> = {
  "success": 0.5,
  "declined card": 0.125,
  "undeliverable email": 0.125,
  "out of stock": 0.125,
  "refund fails": 0.125,
};

/** Options of {@linkcode planOrders}. */
export interface OrderPlanOptions {
  count: number;
  /** Mean arrivals per second. */
  ratePerSecond: number;
  /** Weight per scenario name (default {@linkcode DEFAULT_MIX}). */
  mix?: Readonly<Record<string, number>>;
}

/** Plans `count` orders: scenario, ids and arrival time all drawn from `rng`. */
export function planOrders(rng: Prng, options: OrderPlanOptions): PlannedOrder[] {
  if (!Number.isInteger(options.count) || options.count < 0) {
    throw new RangeError(`Cannot plan orders: count must be an integer >= 0, got ${options.count}`);
  }
  if (!(options.ratePerSecond > 0)) {
    throw new RangeError(
      `Cannot plan orders: the rate must be above 0 per second, got ${options.ratePerSecond}`,
    );
  }
  const mix = options.mix ?? DEFAULT_MIX;
  const choices = DEMO_SCENARIOS.map((scenario) => ({
    value: scenario,
    weight: mix[scenario.name] ?? 0,
  }));
  const meanGapMs = 1_000 / options.ratePerSecond;
  const orders: PlannedOrder[] = [];
  let atMs = 0;
  for (let index = 0; index < options.count; index++) {
    const scenario = rng.weighted(choices);
    const order = newOrder({
      ...scenario.request,
      orderId: rng.uuid(),
      customerId: rng.uuid(),
    });
    const record = encodeMessage({
      eventType: "ORDER_CREATED",
      body: order,
      eventId: rng.uuid(),
    });
    orders.push({ index, atMs: Math.round(atMs), scenario, order, record });
    atMs += rng.exponential(meanGapMs);
  }
  return orders;
}

/** One extra order of the `success` scenario, placed by a fault (e.g. while Redis is down). */
export function planProbe(rng: Prng, index: number): PlannedOrder {
  const scenario = DEMO_SCENARIOS.find((s) => s.name === "success")!;
  const order = newOrder({ ...scenario.request, orderId: rng.uuid(), customerId: rng.uuid() });
  const record = encodeMessage({ eventType: "ORDER_CREATED", body: order, eventId: rng.uuid() });
  return { index, atMs: -1, scenario, order, record };
}

/** An order as placed: when Kafka acknowledged it, and after how many attempts. */
export interface PlacedOrder {
  planned: PlannedOrder;
  placedAt: Date;
  attempts: number;
}

/** Options of {@linkcode runOrderGenerator}. */
export interface GeneratorOptions {
  /** Stops placing (orders not yet placed are abandoned). */
  signal: AbortSignal;
  /** Pause between attempts to place one order while Kafka refuses it (default 500 ms). */
  retryDelayMs?: number;
  /** Called once per order when Kafka took it. */
  onPlaced?: (placed: PlacedOrder) => void;
}

/**
 * Places every planned order at its time (open loop: a slow or failing system does not slow
 * the arrivals down) and resolves once all were acknowledged.
 */
export async function runOrderGenerator(
  producer: Producer,
  plan: readonly PlannedOrder[],
  options: GeneratorOptions,
): Promise<PlacedOrder[]> {
  const started = performance.now();
  const placing: Promise<PlacedOrder>[] = [];
  for (const planned of plan) {
    const wait = planned.atMs - (performance.now() - started);
    if (wait > 0) await sleep(wait, options.signal);
    placing.push(
      placeOrder(producer, planned, options.signal, options.retryDelayMs).then((placed) => {
        options.onPlaced?.(placed);
        return placed;
      }),
    );
  }
  return await Promise.all(placing);
}

/** Publishes the order's record until Kafka acknowledges it (the same record every time). */
export async function placeOrder(
  producer: Producer,
  planned: PlannedOrder,
  signal: AbortSignal,
  retryDelayMs = 500,
): Promise<PlacedOrder> {
  for (let attempts = 1;; attempts++) {
    signal.throwIfAborted();
    try {
      await publish(producer, [planned.record]);
      return { planned, placedAt: new Date(), attempts };
    } catch {
      await sleep(retryDelayMs, signal);
    }
  }
}
