import assert from "node:assert/strict";
import { createLogger, isLogLevel } from "./mod.ts";

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
