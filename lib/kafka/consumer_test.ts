import assert from "node:assert/strict";
import { waitFor } from "../async/mod.ts";
import { createLogger } from "../log/mod.ts";
import {
  type CommitSource,
  type CrashingConsumer,
  createOffsetCommitter,
  restartAfterFatalCrash,
} from "./consumer.ts";

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

/**
 * A member's offsets as kafkajs keeps them: `resolve` marks a record handled, a commit takes what
 * is resolved and uncommitted; each commit waits until `finish` (or fails if told to).
 */
function fakeOffsets() {
  const resolved = new Map<number, string>();
  const committed = new Map<number, string>();
  const commits: Array<Array<{ partition: number; offset: string }>> = [];
  const pending: Array<{ finish: () => void; fail: () => void }> = [];
  const source: CommitSource = {
    uncommittedOffsets: () => {
      const partitions = [...resolved]
        .filter(([partition, offset]) => committed.get(partition) !== offset)
        .map(([partition, offset]) => ({ partition, offset }));
      return { topics: partitions.length === 0 ? [] : [{ topic: "t", partitions }] };
    },
    commitOffsetsIfNecessary: (offsets) => {
      const partitions = offsets?.topics?.[0]?.partitions ?? [];
      commits.push(partitions.map(({ partition, offset }) => ({ partition, offset })));
      return new Promise<void>((resolve, reject) => {
        pending.push({
          finish() {
            for (const { partition, offset } of partitions) committed.set(partition, offset);
            resolve();
          },
          fail: () => reject(new Error("The coordinator is loading")),
        });
      });
    },
  };
  return {
    source,
    commits,
    resolve: (partition: number, offset: string) => resolved.set(partition, offset),
    /** Ends the oldest commit in flight. */
    next: async (outcome: "finish" | "fail" = "finish") => {
      await waitFor(() => pending.length > 0, { description: "a commit in flight" });
      pending.shift()![outcome]();
    },
  };
}

Deno.test("createOffsetCommitter() commits at once, and what is resolved during a commit in one more", async () => {
  const offsets = fakeOffsets();
  const committer = createOffsetCommitter({ groupId: "g", log: quietLog, intervalMs: 0 });
  offsets.resolve(0, "4");
  committer.commitSoon(offsets.source);
  assert.deepEqual(offsets.commits, [[{ partition: 0, offset: "4" }]], "sent without waiting");
  // Five partitions' chunks end while that commit is in flight: one commit takes them all.
  for (let partition = 1; partition <= 5; partition++) {
    offsets.resolve(partition, "7");
    committer.commitSoon(offsets.source);
  }
  assert.equal(offsets.commits.length, 1, "one commit in flight at a time");
  await offsets.next();
  await offsets.next();
  await committer.flush();
  assert.deepEqual(offsets.commits, [
    [{ partition: 0, offset: "4" }],
    [1, 2, 3, 4, 5].map((partition) => ({ partition, offset: "7" })),
  ]);
});

Deno.test("createOffsetCommitter() commits once an interval at most, what was resolved meanwhile in one, and flush() at once", async () => {
  const offsets = fakeOffsets();
  const committer = createOffsetCommitter({ groupId: "g", log: quietLog, intervalMs: 200 });
  offsets.resolve(0, "1");
  committer.commitSoon(offsets.source);
  await offsets.next();
  const firstAt = performance.now();
  // Chunks of three partitions end after it: nothing is sent before the interval is over.
  for (let partition = 0; partition < 3; partition++) {
    offsets.resolve(partition, "5");
    committer.commitSoon(offsets.source);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(offsets.commits.length, 1, "within the interval: no commit yet");
  await offsets.next();
  assert.ok(performance.now() - firstAt >= 190, "the second commit waited out the interval");
  assert.deepEqual(offsets.commits[1], [0, 1, 2].map((partition) => ({ partition, offset: "5" })));
  // A flush (a stop, a rebalance) does not wait for the interval.
  offsets.resolve(0, "9");
  committer.commitSoon(offsets.source);
  const flushed = committer.flush();
  await offsets.next();
  await flushed;
  assert.deepEqual(offsets.commits.at(-1), [{ partition: 0, offset: "9" }]);
  assert.equal(offsets.commits.length, 3);
});

Deno.test("createOffsetCommitter() leaves what a failed commit held to the next, and flush() waits for it", async () => {
  const offsets = fakeOffsets();
  const committer = createOffsetCommitter({ groupId: "g", log: quietLog });
  offsets.resolve(0, "2");
  committer.commitSoon(offsets.source);
  await offsets.next("fail");
  const flushed = committer.flush();
  await offsets.next();
  await flushed;
  assert.deepEqual(offsets.commits, [
    [{ partition: 0, offset: "2" }],
    [{ partition: 0, offset: "2" }],
  ]);
  await committer.flush();
  assert.equal(offsets.commits.length, 2, "nothing left to commit: no request");
});
