import assert from "node:assert/strict";
import { ConfigError } from "../lib/errors/mod.ts";
import {
  connectionProblem,
  describeError,
  EXIT_CODES,
  exitCodeOf,
  kafkaErrorType,
  oneLine,
  UsageError,
} from "./errors.ts";
import { waitExitCode } from "./follow.ts";
import type { SagaJson } from "./saga_view.ts";

Deno.test("describeError() says what failed in one line, naming the system", () => {
  assert.equal(
    describeError(new ConfigError("Invalid configuration: X is required")),
    "Invalid configuration: X is required",
  );
  assert.equal(describeError(new UsageError("Bad\nthing")), "Bad thing");
  const missingTable = Object.assign(new Error('relation "orchestrator.sagas" does not exist'), {
    code: "42P01",
    severity: "ERROR",
  });
  assert.equal(
    describeError(missingTable),
    'PostgreSQL: relation "orchestrator.sagas" does not exist (is the database migrated? run "deno task db:migrate")',
  );
  const kafka = Object.assign(new Error("This server does not host this topic-partition"), {
    name: "KafkaJSProtocolError",
  });
  assert.equal(describeError(kafka), "Kafka: This server does not host this topic-partition");
  assert.equal(describeError("plain"), "plain");
});

Deno.test("exitCodeOf() is 2 for usage errors and 1 for the rest", () => {
  assert.equal(exitCodeOf(new UsageError("x")), EXIT_CODES.usage);
  assert.equal(exitCodeOf(new Error("x")), EXIT_CODES.operational);
  assert.equal(exitCodeOf(new ConfigError("x")), EXIT_CODES.operational);
});

Deno.test("connectionProblem() names the usual connection failures", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
    code: "ECONNREFUSED",
  });
  assert.equal(connectionProblem(refused, 3_000), "connection refused");
  assert.equal(
    connectionProblem(new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1"), 3_000),
    "connection refused",
  );
  assert.equal(
    connectionProblem(Object.assign(new Error("x"), { code: "CONNECT_TIMEOUT" }), 3_000),
    "no answer within 3 s",
  );
  assert.equal(
    connectionProblem(new Error("timed out after 1500 ms"), 1_500),
    "no answer within 1.5 s",
  );
  assert.equal(
    connectionProblem(
      Object.assign(new Error("getaddrinfo ENOTFOUND db"), { code: "ENOTFOUND" }),
      1,
    ),
    "unknown host",
  );
  assert.equal(
    connectionProblem(new Error('database "x" does not exist'), 1),
    'database "x" does not exist',
  );
});

Deno.test("oneLine() collapses line breaks", () => {
  assert.equal(
    oneLine("error: unknown option '--x'\n(Did you mean --y?)\n"),
    "error: unknown option '--x' (Did you mean --y?)",
  );
});

Deno.test("waitExitCode() maps how a --wait ended to 0, 3 or 4", () => {
  const saga = (status: SagaJson["status"]) => ({ status } as SagaJson);
  const result = (status: SagaJson["status"] | null, timedOut = false) => ({
    saga: status === null ? null : saga(status),
    timedOut,
    live: "redis" as const,
    elapsedMs: 1,
  });
  assert.equal(waitExitCode(result("COMPLETED"), "COMPLETED"), 0);
  for (const status of ["COMPENSATED", "FAILED", "COMPENSATION_FAILED", "CANCELLED"] as const) {
    assert.equal(waitExitCode(result(status), "COMPLETED"), 3, status);
  }
  assert.equal(waitExitCode(result("IN_PROGRESS", true), "COMPLETED"), 4);
  assert.equal(waitExitCode(result(null, true), "COMPLETED"), 4);
  assert.equal(waitExitCode(result("COMPENSATED"), "COMPENSATED"), 0, "saga retry --wait");
  assert.equal(waitExitCode(result("COMPENSATION_FAILED"), "COMPENSATED"), 3);
});

Deno.test("describeError() explains a Kafka topic that does not exist", () => {
  const cause = Object.assign(new Error("This server does not host this topic-partition"), {
    name: "KafkaJSProtocolError",
    type: "UNKNOWN_TOPIC_OR_PARTITION",
  });
  const error = Object.assign(new Error(cause.message), {
    name: "KafkaJSNonRetriableError",
    cause,
  });
  assert.equal(kafkaErrorType(error), "UNKNOWN_TOPIC_OR_PARTITION");
  assert.match(
    describeError(error),
    /^Kafka: the topic does not exist \(check KAFKA_BROKERS and KAFKA_NAMESPACE; /,
  );
});
