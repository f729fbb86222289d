/** The producer every service uses: idempotent, `acks=all`, records grouped per topic. */
import type { Kafka, Producer } from "kafkajs";
import type { WireRecord } from "../messages/mod.ts";
import { bindNamespace, inNamespace, namespaceOf } from "./namespace.ts";
import { toKafkaMessage } from "./records.ts";

/** Creates and connects an idempotent producer (acks = all, safe to retry without duplicates). */
export async function connectProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
  await producer.connect();
  return bindNamespace(producer, namespaceOf(kafka));
}

/** Sends records to their topics in one batch and waits for every replica's acknowledgement. */
export async function publish(producer: Producer, records: readonly WireRecord[]): Promise<void> {
  if (records.length === 0) return;
  const byTopic = new Map<string, WireRecord[]>();
  for (const record of records) {
    const list = byTopic.get(record.topic) ?? [];
    list.push(record);
    byTopic.set(record.topic, list);
  }
  await producer.sendBatch({
    acks: -1,
    topicMessages: [...byTopic].map(([topic, list]) => ({
      topic: inNamespace(producer, topic),
      messages: list.map(toKafkaMessage),
    })),
  });
}
