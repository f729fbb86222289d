import assert from "node:assert/strict";
import type { EventType } from "../messages/mod.ts";
import type { SagaDefinition } from "../saga/mod.ts";
import { ORDER_SAGA } from "./definition.ts";
import { replyRoutes, replyTopics } from "./reply_partitions.ts";

Deno.test("replyRoutes() gives each part of each step the topic its replies travel on", () => {
  assert.deepEqual(replyRoutes(ORDER_SAGA), [
    { sagaType: "order", step: 0, phase: "forward", topic: "inventory.replies" },
    { sagaType: "order", step: 0, phase: "compensation", topic: "inventory.replies" },
    { sagaType: "order", step: 1, phase: "forward", topic: "payment.replies" },
    { sagaType: "order", step: 1, phase: "compensation", topic: "payment.replies" },
    { sagaType: "order", step: 2, phase: "forward", topic: "notification.replies" },
  ]);
  assert.deepEqual(replyTopics(replyRoutes(ORDER_SAGA)), [
    "inventory.replies",
    "payment.replies",
    "notification.replies",
  ]);
});

Deno.test("replyRoutes() refuses a step whose replies travel on two topics", () => {
  const definition: SagaDefinition<null, null, EventType> = {
    name: "split",
    start: { eventType: "ORDER_CREATED", key: () => "k", data: () => null },
    steps: [{
      name: "Split",
      command: { eventType: "RESERVE_INVENTORY", body: () => ({}) },
      replies: { success: "INVENTORY_RESERVED", failure: "PAYMENT_FAILED" },
    }],
    domainStatus: (status) => status,
  };
  assert.throws(() => replyRoutes(definition), TypeError);
});
