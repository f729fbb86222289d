import assert from "node:assert/strict";
import { createWakeup, sleep, waitFor } from "./mod.ts";

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

Deno.test({
  name: "createWakeup() ends a wait at once, remembers wake-ups made while nobody waits as one",
  sanitizeOps: true, // a wait ended early must clear its timer
  async fn() {
    const wakeup = createWakeup();
    const signal = new AbortController().signal;
    const waiting = wakeup.wait(60_000, signal);
    wakeup.wake();
    await waiting;
    wakeup.wake();
    wakeup.wake(); // two wake-ups while nobody waits ("during the work")
    await wakeup.wait(60_000, signal); // the first wait after them returns at once…
    const started = performance.now();
    await wakeup.wait(30, signal); // …and the next one waits again, until its timeout
    assert.ok(performance.now() - started >= 25, "the remembered wake-up was used up");
  },
});

Deno.test({
  name: "createWakeup() ends a wait when the signal aborts, leaving no timer behind",
  sanitizeOps: true,
  async fn() {
    const wakeup = createWakeup();
    const stopping = new AbortController();
    const waiting = wakeup.wait(60_000, stopping.signal);
    stopping.abort();
    await waiting;
    await wakeup.wait(60_000, stopping.signal); // already aborted: at once
  },
});
