import assert from "node:assert/strict";
import { coalescingWriter, createLogger, isLogLevel } from "./mod.ts";

function capture(level?: "debug" | "info" | "warn" | "error") {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("inventory", {
    level,
    write: (line) => lines.push(JSON.parse(line)),
    now: () => new Date("2026-05-06T07:08:09.000Z"),
  });
  return { log, lines };
}

Deno.test("createLogger() writes one JSON object per line with level, time, service and message", () => {
  const { log, lines } = capture();
  log.info("Reserved stock", { orderId: "o-1", items: 2 });
  assert.deepEqual(lines, [{
    level: "info",
    time: "2026-05-06T07:08:09.000Z",
    service: "inventory",
    msg: "Reserved stock",
    orderId: "o-1",
    items: 2,
  }]);
});

Deno.test("createLogger() drops lines below the configured level", () => {
  const { log, lines } = capture("warn");
  log.debug("a");
  log.info("b");
  log.warn("c");
  log.error("d");
  assert.deepEqual(lines.map((l) => l.msg), ["c", "d"]);
});

Deno.test("child() adds sagaId and orderId to every line and lets a call override them", () => {
  const { log, lines } = capture();
  const sagaLog = log.child({ sagaId: "s-1", orderId: "o-1" });
  sagaLog.info("Step sent");
  sagaLog.child({ step: "payment" }).warn("Step late", { orderId: "o-2" });
  assert.equal(lines[0]?.sagaId, "s-1");
  assert.equal(lines[0]?.orderId, "o-1");
  assert.equal(lines[1]?.step, "payment");
  assert.equal(lines[1]?.orderId, "o-2");
});

Deno.test("error() expands an Error into name, message and stack", () => {
  const { log, lines } = capture();
  log.error("Handler failed", { error: new RangeError("Too many") });
  const error = lines[0]?.error as Record<string, unknown>;
  assert.equal(error.name, "RangeError");
  assert.equal(error.message, "Too many");
  assert.match(String(error.stack), /RangeError: Too many/);
});

Deno.test("isLogLevel() accepts the four levels only", () => {
  assert.deepEqual(["debug", "info", "warn", "error", "trace", 3].map(isLogLevel), [
    true,
    true,
    true,
    true,
    false,
    false,
  ]);
});

Deno.test("coalescingWriter() writes the lines of one synchronous stretch in one call, in order", async () => {
  const calls: string[] = [];
  const log = createLogger("orchestrator", {
    write: coalescingWriter((lines) => calls.push(lines)),
    now: () => new Date("2026-05-06T07:08:09.000Z"),
  });
  log.info("one");
  log.info("two");
  assert.equal(calls.length, 0, "nothing written before the stretch ends");
  await Promise.resolve();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.split("\n").map((line) => JSON.parse(line).msg), ["one", "two"]);
  log.info("three");
  await Promise.resolve();
  assert.deepEqual(calls.slice(1).map((lines) => JSON.parse(lines).msg), ["three"]);
});

Deno.test("coalescingWriter() writes a warning or an error at once, after the lines before it", () => {
  const calls: string[] = [];
  const log = createLogger("payment", { write: coalescingWriter((lines) => calls.push(lines)) });
  log.info("before");
  log.error("failing", { error: new Error("boom") });
  assert.equal(calls.length, 1, "flushed synchronously: a process may exit right after");
  assert.deepEqual(calls[0]!.split("\n").map((line) => JSON.parse(line).msg), [
    "before",
    "failing",
  ]);
  log.warn("late");
  assert.deepEqual(calls.slice(1).map((lines) => JSON.parse(lines).msg), ["late"]);
});
