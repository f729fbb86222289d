import assert from "node:assert/strict";
import type { Producer, RecordMetadata } from "kafkajs";
import { oneSendAtATime } from "./producer.ts";

/** A producer whose sends resolve or reject when the test says, recording how many overlap. */
function controlledProducer() {
  const pending: Array<{ settle: (ok: boolean) => void; what: string }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const started: string[] = [];
  function call(what: string): Promise<RecordMetadata[]> {
    started.push(what);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    return new Promise((resolve, reject) => {
      pending.push({
        what,
        settle: (ok) => {
          inFlight--;
          if (ok) resolve([]);
          else reject(new Error(`${what} failed`));
        },
      });
    });
  }
  const producer = {
    send: (record: { topic: string }) => call(`send ${record.topic}`),
    sendBatch: (batch: { topicMessages?: Array<{ topic: string }> }) =>
      call(`batch ${batch.topicMessages?.[0]?.topic}`),
  } as unknown as Producer;
  return { producer, pending, started, maxInFlight: () => maxInFlight };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("oneSendAtATime() runs sends and batches one at a time, in call order, past failures", async () => {
  const fake = controlledProducer();
  const producer = oneSendAtATime(fake.producer);
  const first = producer.sendBatch({ topicMessages: [{ topic: "a", messages: [] }] });
  const second = producer.send({ topic: "b", messages: [] });
  const third = producer.send({ topic: "c", messages: [] });
  await settled();
  assert.deepEqual(fake.started, ["batch a"], "the second waits for the first");
  fake.pending.shift()!.settle(false);
  await assert.rejects(first, /batch a failed/);
  await settled();
  assert.deepEqual(fake.started, ["batch a", "send b"], "a failure does not block the queue");
  fake.pending.shift()!.settle(true);
  await second;
  await settled();
  fake.pending.shift()!.settle(true);
  await third;
  assert.deepEqual(fake.started, ["batch a", "send b", "send c"]);
  assert.equal(fake.maxInFlight(), 1);
});
