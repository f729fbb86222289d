import assert from "node:assert/strict";
import { ORDER_SAGA, replyRoutes } from "../order_saga/mod.ts";
import { knownRoutes } from "./reply_partitions.ts";

Deno.test("knownRoutes() leaves out the routes whose topic's size is unknown", () => {
  const routes = replyRoutes(ORDER_SAGA);
  assert.deepEqual(knownRoutes({ routes, partitions: new Map([["payment.replies", 6]]) }), {
    types: ["order", "order"],
    steps: [1, 1],
    phases: ["forward", "compensation"],
    topics: ["payment.replies", "payment.replies"],
    partitions: [6, 6],
  });
  assert.deepEqual(knownRoutes({ routes, partitions: new Map() }).steps, []);
});
