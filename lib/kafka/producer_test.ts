import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import type { Producer, RecordMetadata } from "kafkajs";
import { oneSendAtATime, renewedWhenStateLost } from "./producer.ts";

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

/** A producer that records what it was asked and fails its sends with `failWith` when set. */
function scriptedProducer(name: string, log: string[], failWith?: () => Error): Producer {
  return {
    connect: () => Promise.resolve(log.push(`${name} connect`)).then(() => {}),
    disconnect: () => Promise.resolve(log.push(`${name} disconnect`)).then(() => {}),
    sendBatch: () => {
      log.push(`${name} send`);
      return failWith === undefined ? Promise.resolve([]) : Promise.reject(failWith());
    },
  } as unknown as Producer;
}

function protocolError(type: string): Error {
  return new kafkajs.KafkaJSProtocolError(
    { type, message: type, retriable: false, code: 0 } as unknown as Error,
  );
}

Deno.test("renewedWhenStateLost() replaces a producer whose sequence numbers the broker refuses", async () => {
  const log: string[] = [];
  const fresh: Producer[] = [];
  const producer = renewedWhenStateLost(
    scriptedProducer("first", log, () => protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER")),
    () => {
      const next = scriptedProducer(`new${fresh.length + 1}`, log);
      fresh.push(next);
      return next;
    },
  );
  await assert.rejects(producer.sendBatch({ topicMessages: [] }), /OUT_OF_ORDER_SEQUENCE_NUMBER/);
  assert.deepEqual(log, ["first send", "first disconnect"], "the failed send still fails");
  await producer.sendBatch({ topicMessages: [] });
  await producer.sendBatch({ topicMessages: [] });
  assert.deepEqual(log.slice(2), ["new1 connect", "new1 send", "new1 send"]);
  assert.equal(fresh.length, 1);
  await producer.disconnect();
  assert.equal(log.at(-1), "new1 disconnect");
});

Deno.test("renewedWhenStateLost() keeps the producer through other failures", async () => {
  const log: string[] = [];
  let created = 0;
  const producer = renewedWhenStateLost(
    scriptedProducer("first", log, () => protocolError("NOT_LEADER_OR_FOLLOWER")),
    () => {
      created++;
      return scriptedProducer("new", log);
    },
  );
  await assert.rejects(producer.sendBatch({ topicMessages: [] }), /NOT_LEADER_OR_FOLLOWER/);
  await assert.rejects(producer.sendBatch({ topicMessages: [] }));
  assert.deepEqual(log, ["first send", "first send"]);
  assert.equal(created, 0);
});
