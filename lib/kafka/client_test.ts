import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { createLogger } from "../log/mod.ts";
import { kafkaLogTo } from "./client.ts";

Deno.test("kafkaLogTo() writes kafkajs entries as the service's JSON lines, at the same level", () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("payment", {
    level: "debug",
    write: (line) => lines.push(JSON.parse(line)),
  });
  const write = kafkaLogTo(log)(kafkajs.logLevel.INFO);
  write({
    namespace: "Connection",
    level: kafkajs.logLevel.ERROR,
    label: "ERROR",
    log: {
      timestamp: "t",
      logger: "kafkajs",
      message: "Connection error",
      broker: "127.0.0.1:9092",
    },
  });
  write({
    namespace: "Runner",
    level: kafkajs.logLevel.WARN,
    label: "WARN",
    log: { timestamp: "t", logger: "kafkajs", message: "Slow" },
  });
  assert.deepEqual(lines.map((l) => [l.level, l.msg, l.kafkajs, l.broker, l.service]), [
    ["error", "Connection error", "Connection", "127.0.0.1:9092", "payment"],
    ["warn", "Slow", "Runner", undefined, "payment"],
  ]);
});
