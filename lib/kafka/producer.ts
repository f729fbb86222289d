/** The producer every service uses: idempotent, `acks=all`, records grouped per topic. */
import kafkajs from "kafkajs";
import type { Kafka, Message, PartitionerArgs, Producer } from "kafkajs";
import type { WireRecord } from "../messages/mod.ts";
import { sleep } from "../async/mod.ts";
import {
  describeRefusal,
  isCoordinatorNotReady,
  isProducerStateLost,
  isRefusedForGood,
} from "./errors.ts";
import { bindNamespace, inNamespace, namespaceOf } from "./namespace.ts";
import { toKafkaMessage } from "./records.ts";

/** The partition kafkajs chose for each message sent by a producer of `connectProducer`. */
const partitionOfMessage = new WeakMap<Message, number>();

/**
 * Creates and connects an idempotent producer (acks = all, safe to retry without duplicates)
 * that sends one request at a time, and that a new producer id replaces when the broker no
 * longer takes its sequence numbers (`renewedWhenStateLost`).
 */
export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const create = () =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 5,
      createPartitioner: recordingPartitioner,
    });
  const producer = create();
  await connectOnceCoordinatorReady(producer);
  return bindNamespace(
    oneSendAtATime(renewedWhenStateLost(producer, create)),
    namespaceOf(kafka),
  );
}

/**
 * `first`, until a send fails because the broker no longer takes its sequence numbers
 * (`isProducerStateLost`): kafkajs then fails every later send to that partition the same way,
 * for good. Seen on a 3-broker cluster: a leader dies with a request in flight that it had
 * written, and the caller sends other records next (an outbox relay sends what is unpublished
 * by then). That send still fails; the producer is replaced by a new one of `create`, connected
 * at the next send, whose producer id starts its numbers again. Records the old one may have
 * written are sent again: at least once, as everywhere else. Listeners (`on`) stay on `first`.
 * Not for concurrent sends: wrap it in `oneSendAtATime`.
 */
export function renewedWhenStateLost(first: Producer, create: () => Producer): Producer {
  let current = first;
  let connected = true;
  async function using<T>(work: (producer: Producer) => Promise<T>): Promise<T> {
    if (!connected) {
      await connectOnceCoordinatorReady(current);
      connected = true;
    }
    try {
      return await work(current);
    } catch (error) {
      if (isProducerStateLost(error)) {
        const lost = current;
        current = create();
        connected = false;
        await lost.disconnect().catch(() => {});
      }
      throw error;
    }
  }
  return {
    ...first,
    async connect() {
      await connectOnceCoordinatorReady(current);
      connected = true;
    },
    disconnect: () => current.disconnect(),
    send: (record) => using((producer) => producer.send(record)),
    sendBatch: (batch) => using((producer) => producer.sendBatch(batch)),
  };
}

/** How long a producer waits for its transaction coordinator (its producer id) at connect. */
const COORDINATOR_WAIT_MS = 60_000;

/**
 * Connects the idempotent producer, which first asks the transaction coordinator for a producer
 * id: on a cluster that just started (or lost the coordinator's broker) that answers "loading"
 * for a while, past kafkajs's own retries. Waits that out, up to `COORDINATOR_WAIT_MS`.
 */
async function connectOnceCoordinatorReady(producer: Producer): Promise<void> {
  const started = Date.now();
  for (let attempt = 0;; attempt++) {
    try {
      await producer.connect();
      return;
    } catch (error) {
      if (!isCoordinatorNotReady(error) || Date.now() - started > COORDINATOR_WAIT_MS) throw error;
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

/**
 * Queues the producer's `send` and `sendBatch` calls so that one runs at a time. kafkajs's
 * idempotent producer rewinds a partition's sequence number when a send fails; with another send
 * to that partition in flight (e.g. while its leader dies), the rewound number goes to other
 * records, which the new leader acknowledges and drops as duplicates: acknowledged records lost
 * (seen on a 3-broker cluster). One send at a time keeps a rewind to the records it belongs to.
 */
export function oneSendAtATime(producer: Producer): Producer {
  let tail: Promise<unknown> = Promise.resolve();
  function queued<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  }
  const send = producer.send.bind(producer);
  const sendBatch = producer.sendBatch.bind(producer);
  producer.send = (record) => queued(() => send(record));
  producer.sendBatch = (batch) => queued(() => sendBatch(batch));
  return producer;
}

/** kafkajs's default partitioner, remembering the partition of each message (see `publishExceptRefused`). */
function recordingPartitioner(): (args: PartitionerArgs) => number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  return function recordPartition(args) {
    const partition = partitioner(args);
    partitionOfMessage.set(args.message, partition);
    return partition;
  };
}

/** Sends records to their topics in one batch and waits for every replica's acknowledgement. */
export async function publish(producer: Producer, records: readonly WireRecord[]): Promise<void> {
  await send(
    producer,
    records.map((record) => ({ topic: record.topic, message: toKafkaMessage(record) })),
  );
}

/** A record the broker refused for good (see `isRefusedForGood`) when sent on its own. */
export interface RefusedRecord<T extends WireRecord> {
  record: T;
  /** The broker's error type and message, e.g. `MESSAGE_TOO_LARGE (over ...): ...`. */
  reason: string;
  error: unknown;
}

/**
 * Sends records like `publish`, except that records the broker refuses for good do not hold the
 * others back: those are sent, in order, and the refused ones are returned. Any other failure
 * throws, as from `publish` (some records may then have been sent: send them all again).
 *
 * A refused batch is sent again partition by partition, as kafkajs had grouped it, and a group
 * still refused is split in halves until the refused records are alone. Not record by record:
 * the broker appends the other partitions' records of a refused request, yet kafkajs's
 * idempotent producer rewinds the sequence numbers of every partition of it. Only the same
 * records again, as many in one request, bring a partition back in step (the broker takes them
 * for the duplicate they are); anything else there would be refused as out of order, or, as many
 * records as before, taken for a duplicate and dropped. The partitions are known for producers of
 * `connectProducer`; with any other producer each record is its own group.
 */
export async function publishExceptRefused<T extends WireRecord>(
  producer: Producer,
  records: readonly T[],
): Promise<RefusedRecord<T>[]> {
  const sent = records.map((record) => ({ record, message: toKafkaMessage(record) }));
  try {
    await send(producer, sent.map(({ record, message }) => ({ topic: record.topic, message })));
    return [];
  } catch (error) {
    if (!isRefusedForGood(error)) throw error;
  }
  const groups = new Map<string, { record: T; partition: number | undefined }[]>();
  sent.forEach(({ record, message }, index) => {
    const partition = partitionOfMessage.get(message);
    const group = partition === undefined ? `#${index}` : `${record.topic}\u0000${partition}`;
    groups.set(group, [...groups.get(group) ?? [], { record, partition }]);
  });
  const refused: RefusedRecord<T>[] = [];
  async function sendApart(part: { record: T; partition: number | undefined }[]): Promise<void> {
    try {
      await send(
        producer,
        part.map(({ record, partition }) => ({
          topic: record.topic,
          message: { ...toKafkaMessage(record), ...(partition === undefined ? {} : { partition }) },
        })),
      );
      return;
    } catch (error) {
      if (!isRefusedForGood(error)) throw error;
      if (part.length === 1) {
        refused.push({ record: part[0]!.record, reason: describeRefusal(error), error });
        return;
      }
    }
    // One partition refused the whole request and appended nothing: its sequence is in step.
    const half = Math.ceil(part.length / 2);
    await sendApart(part.slice(0, half));
    await sendApart(part.slice(half));
  }
  for (const group of groups.values()) await sendApart(group);
  return refused;
}

/** Sends messages in one batch, grouped per topic (in the producer's namespace), in order. */
async function send(
  producer: Producer,
  entries: readonly { topic: string; message: Message }[],
): Promise<void> {
  if (entries.length === 0) return;
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of entries) {
    const list = byTopic.get(topic) ?? [];
    list.push(message);
    byTopic.set(topic, list);
  }
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, messages]) => ({
      topic: inNamespace(producer, topic),
      messages,
    })),
  });
}
