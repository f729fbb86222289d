import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import { createLogger } from "../log/mod.ts";
import { type CrashingConsumer, restartAfterFatalCrash } from "./consumer.ts";

const quietLog = createLogger("test", { level: "error", write: () => {} });

/** A consumer that crashes on demand and counts what it is asked to do. */
function fakeConsumer(options: { failConnects?: number } = {}) {
  const listeners: Array<(event: unknown) => void> = [];
  let failConnects = options.failConnects ?? 0;
  const calls = { connect: 0, run: 0 };
  const consumer = {
    events: { CRASH: "consumer.crash" },
    on(_event: string, listener: (event: unknown) => void) {
      listeners.push(listener);
      return () => {};
    },
    connect() {
      calls.connect++;
      if (failConnects-- > 0) return Promise.reject(new Error("connect ECONNREFUSED"));
      return Promise.resolve();
    },
  };
  return {
    consumer: consumer as unknown as CrashingConsumer,
    calls,
    run: () => {
      calls.run++;
      return Promise.resolve();
    },
    crash(restart: boolean) {
      const error = new Error("Failed to find group coordinator");
      for (const listener of listeners) listener({ payload: { error, groupId: "g", restart } });
    },
  };
}

Deno.test("restartAfterFatalCrash() runs the consumer again after a crash kafkajs gives up on", async () => {
  const fake = fakeConsumer();
  const stopping = new AbortController();
  const restarts = restartAfterFatalCrash(fake.consumer, fake.run, {
    groupId: "g",
    log: quietLog,
    signal: stopping.signal,
    initialDelayMs: 1,
  });
  fake.crash(false);
  await waitFor(() => fake.calls.run === 1, { description: "the consumer to run again" });
  assert.deepEqual(fake.calls, { connect: 1, run: 1 });
  fake.crash(false); // and again, as often as it happens
  await waitFor(() => fake.calls.run === 2, { description: "a second restart" });
  stopping.abort();
  await restarts.settled();
});

Deno.test("restartAfterFatalCrash() leaves kafkajs's own restarts alone", async () => {
  const fake = fakeConsumer();
  const stopping = new AbortController();
  const restarts = restartAfterFatalCrash(fake.consumer, fake.run, {
    groupId: "g",
    log: quietLog,
    signal: stopping.signal,
    initialDelayMs: 1,
  });
  fake.crash(true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(fake.calls, { connect: 0, run: 0 });
  stopping.abort();
  await restarts.settled();
});

Deno.test("restartAfterFatalCrash() keeps trying while the broker is away, and stops when told", async () => {
  const fake = fakeConsumer({ failConnects: 2 });
  const stopping = new AbortController();
  const restarts = restartAfterFatalCrash(fake.consumer, fake.run, {
    groupId: "g",
    log: quietLog,
    signal: stopping.signal,
    initialDelayMs: 1,
  });
  fake.crash(false);
  await waitFor(() => fake.calls.run === 1, { description: "the third attempt to run" });
  assert.deepEqual(fake.calls, { connect: 3, run: 1 });

  const stopped = fakeConsumer({ failConnects: 1_000 });
  const stop = new AbortController();
  const never = restartAfterFatalCrash(stopped.consumer, stopped.run, {
    groupId: "g",
    log: quietLog,
    signal: stop.signal,
    initialDelayMs: 1,
  });
  stopped.crash(false);
  await waitFor(() => stopped.calls.connect >= 2, { description: "attempts while away" });
  stop.abort();
  await never.settled();
  const after = stopped.calls.connect;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(stopped.calls.connect, after, "no attempt after stop");
  assert.equal(stopped.calls.run, 0);
  stopping.abort();
  await restarts.settled();
});
