import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { replayHeaders } from "./dlq_replay.ts";

Deno.test("replayHeaders() keeps the original headers, drops dlq-* and adds the replay's", () => {
  const at = new Date("2026-01-31T12:00:00.000Z");
  const headers = replayHeaders(
    {
      metadata: Buffer.from("{}"),
      traceparent: "00-abc-def-01",
      "dlq-error": "boom",
      "dlq-source-topic": "orders",
      "dlq-source-partition": "1",
      "dlq-source-offset": "2",
      "dlq-failed-at": "2026-01-31T11:00:00.000Z",
      "dlq-replayed-at": "2026-01-30T00:00:00.000Z",
    },
    at,
    "orders.dlq:3:17",
  );
  assert.deepEqual(Object.keys(headers).sort(), [
    "dlq-replayed-at",
    "dlq-replayed-from",
    "metadata",
    "traceparent",
  ]);
  assert.equal(headers["dlq-replayed-at"], "2026-01-31T12:00:00.000Z");
  assert.equal(headers["dlq-replayed-from"], "orders.dlq:3:17");
  assert.ok(Buffer.isBuffer(headers.metadata), "original header bytes are kept as they are");
});
