import assert from "node:assert/strict";
import { sleep, waitFor } from "./mod.ts";

Deno.test("sleep() rejects with the abort reason when the signal aborts", async () => {
  const controller = new AbortController();
  const pending = sleep(60_000, controller.signal);
  controller.abort(new Error("Shutting down"));
  await assert.rejects(pending, /Shutting down/);
});

Deno.test("sleep() rejects at once when the signal is already aborted", async () => {
  await assert.rejects(sleep(10, AbortSignal.abort(new Error("Gone"))), /Gone/);
});

Deno.test("waitFor() returns the first truthy value of the check", async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? `after ${calls}` : undefined), {
    intervalMs: 1,
  });
  assert.equal(value, "after 3");
});

Deno.test("waitFor() times out naming what it waited for and the last error", async () => {
  await assert.rejects(
    waitFor(() => {
      throw new Error("Not yet");
    }, { timeoutMs: 20, intervalMs: 5, description: "the broker" }),
    /Timed out after 20 ms waiting for the broker \(last error: Error: Not yet\)/,
  );
});
