import assert from "node:assert/strict";
import { InfrastructureError, MalformedMessageError } from "../errors/mod.ts";
import { onHandlerFailure, type RetryPolicy } from "./retry_policy.ts";

const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 300 };

Deno.test("onHandlerFailure() dead-letters malformed input at the first attempt", () => {
  assert.deepEqual(
    onHandlerFailure(new MalformedMessageError("Missing header metadata"), 1, policy),
    {
      action: "dead-letter",
      reason: "Missing header metadata",
    },
  );
});

Deno.test("onHandlerFailure() retries an unexpected error with doubling delays, then dead-letters", () => {
  const error = new TypeError("Cannot read properties of undefined");
  assert.deepEqual(onHandlerFailure(error, 1, policy), { action: "retry", delayMs: 100 });
  assert.deepEqual(onHandlerFailure(error, 2, policy), { action: "retry", delayMs: 200 });
  assert.deepEqual(onHandlerFailure(error, 3, policy), {
    action: "dead-letter",
    reason: "Failed after 3 attempts: TypeError: Cannot read properties of undefined",
  });
});

Deno.test("onHandlerFailure() keeps retrying an infrastructure fault, capping the delay", () => {
  const faults = [
    new InfrastructureError("Database is down"),
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
    }),
    Object.assign(new Error("could not serialize access"), { code: "40001" }),
    Object.assign(new Error("The group is rebalancing"), {
      name: "KafkaJSProtocolError",
      retriable: true,
    }),
  ];
  for (const fault of faults) {
    assert.deepEqual(
      onHandlerFailure(fault, 50, policy),
      { action: "retry", delayMs: 300 },
      fault.message,
    );
  }
});

Deno.test("onHandlerFailure() treats a constraint violation as a bug, not an infrastructure fault", () => {
  const violation = Object.assign(new Error("duplicate key value"), { code: "23505" });
  assert.equal(onHandlerFailure(violation, 3, policy).action, "dead-letter");
});
