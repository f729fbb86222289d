/**
 * Poison records (DESIGN §5), each produced by a real Kafka client (kafkajs, a producer of its
 * own) into the run's topics. Each must end up on `orders.dlq` with a reason, stop no consumer,
 * and move no stock or money. Every record carries the `chaos-injection` header (a dead letter
 * keeps the original headers) and a key of its own, so the dead letters can be told apart.
 */
import type { Kafka } from "kafkajs";
import { inNamespace } from "../../lib/kafka/namespace.ts";
import type { ConsumedRecord } from "../../lib/kafka/records.ts";
import { type Topic, TOPICS, type WireRecord } from "../../lib/messages/mod.ts";
import type { Prng } from "../../testing/prng.ts";

/** The header that marks a record injected by a chaos run. */
export const INJECTION_HEADER = "chaos-injection";

/** A poison record and how to recognise what it turns into on `orders.dlq`. */
export interface PoisonRecord {
  /** What is wrong with it, e.g. `invalid JSON`. */
  name: string;
  topic: Topic;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  /**
   * The key of the dead letter to expect: the record itself, or (for a command for a saga that
   * does not exist, which a participant cannot know) the reply it leads to, keyed by its order.
   */
  dlqKey: string;
  /** True when the dead letter is the record itself (it carries the injection header). */
  deadLettersItself: boolean;
  /** Set once the broker acknowledged it (it is never produced twice). */
  produced?: boolean;
}

/** Real records some poison is made from. */
export interface PoisonSources {
  /** An `ORDER_CREATED` that was placed (its eventId is reused with another body). */
  placedOrder: WireRecord;
  /** A `PROCESS_PAYMENT` the orchestrator sent (its eventId is reused with another amount). */
  paymentCommand: ConsumedRecord | null;
  /** A completed saga's order (a refund naming another saga is sent for it). */
  completed: { orderId: string } | null;
}

const MUG = "8a1f0c4e-0001-4000-8000-000000000001";

function metadata(fields: Record<string, unknown>): string {
  return JSON.stringify({ timestamp: new Date().toISOString(), ...fields });
}

/** Builds one poison record of each kind (the oversized one is sized when produced). */
export function buildPoison(rng: Prng, sources: PoisonSources): PoisonRecord[] {
  const poison: PoisonRecord[] = [];
  const add = (
    record: Omit<PoisonRecord, "dlqKey" | "deadLettersItself" | "headers"> & {
      headers: Record<string, string>;
      dlqKey?: string;
      deadLettersItself?: boolean;
    },
  ) => {
    const id = `${record.name} ${rng.uuid().slice(0, 8)}`;
    poison.push({
      ...record,
      headers: { ...record.headers, [INJECTION_HEADER]: id },
      dlqKey: record.dlqKey ?? record.key ?? "",
      deadLettersItself: record.deadLettersItself ?? true,
    });
  };
  const order = (orderId: string, quantity = 1) => ({
    orderId,
    customerId: rng.uuid(),
    customerEmail: "poison@example.com",
    currency: "usd",
    paymentMethod: "pm_card_visa",
    items: [{ productId: MUG, quantity, unitPriceCents: 1_299 }],
  });
  const ids = () => ({ eventId: rng.uuid(), sagaId: rng.uuid(), orderId: rng.uuid() });

  {
    const { eventId, orderId } = ids();
    add({
      name: "invalid JSON",
      topic: TOPICS.orders,
      key: orderId,
      value: JSON.stringify(order(orderId)).slice(0, 40),
      headers: { metadata: metadata({ eventType: "ORDER_CREATED", eventId, orderId }) },
    });
  }
  {
    const { orderId } = ids();
    add({
      name: "no metadata header",
      topic: TOPICS.inventoryCommands,
      key: orderId,
      value: JSON.stringify({
        orderId,
        items: [{ productId: MUG, quantity: 1, unitPriceCents: 1_299 }],
      }),
      headers: {},
    });
  }
  {
    const { orderId, sagaId } = ids();
    add({
      name: "header not JSON",
      topic: TOPICS.paymentCommands,
      key: orderId,
      value: JSON.stringify({ orderId }),
      headers: { metadata: `eventType=REFUND_PAYMENT;orderId=${orderId};sagaId=${sagaId}` },
    });
  }
  {
    const { eventId, sagaId, orderId } = ids();
    add({
      name: "wrong field types",
      topic: TOPICS.paymentCommands,
      key: orderId,
      value: JSON.stringify({
        orderId,
        customerId: rng.uuid(),
        amountCents: "1299",
        currency: "usd",
        paymentMethod: ["pm_card_visa"],
      }),
      headers: { metadata: metadata({ eventType: "PROCESS_PAYMENT", eventId, sagaId, orderId }) },
    });
  }
  {
    const { eventId, sagaId, orderId } = ids();
    add({
      name: "unknown eventType",
      topic: TOPICS.notificationCommands,
      key: orderId,
      value: JSON.stringify({ orderId, phone: "+15550100" }),
      headers: { metadata: metadata({ eventType: "SEND_SMS", eventId, sagaId, orderId }) },
    });
  }
  {
    const { eventId, orderId } = ids();
    add({
      name: "zero quantity",
      topic: TOPICS.orders,
      key: orderId,
      value: JSON.stringify(order(orderId, 0)),
      headers: { metadata: metadata({ eventType: "ORDER_CREATED", eventId, orderId }) },
    });
  }
  {
    const { eventId, sagaId, orderId } = ids();
    add({
      name: "negative quantity",
      topic: TOPICS.inventoryCommands,
      key: orderId,
      // At the catalog's price: the negative quantity is its only fault.
      value: JSON.stringify({
        orderId,
        items: [{ productId: MUG, quantity: -5, unitPriceCents: 1_299 }],
      }),
      headers: {
        metadata: metadata({ eventType: "RESERVE_INVENTORY", eventId, sagaId, orderId }),
      },
    });
  }
  {
    const { eventId, orderId } = ids();
    add({
      name: "value near the size limit",
      topic: TOPICS.orders,
      key: orderId,
      // Padded to the broker's limit when produced (see produceOversized).
      value: JSON.stringify({ ...order(orderId), items: "" }),
      headers: { metadata: metadata({ eventType: "ORDER_CREATED", eventId, orderId }) },
    });
  }
  {
    const original = sources.placedOrder;
    const body = JSON.parse(original.value!);
    add({
      name: "same eventId, other body (order)",
      topic: TOPICS.orders,
      key: original.key,
      value: JSON.stringify({ ...body, customerEmail: "someone.else@example.com" }),
      headers: { metadata: original.headers.metadata! },
    });
  }
  if (sources.paymentCommand !== null) {
    const original = sources.paymentCommand;
    const body = JSON.parse(original.value!);
    add({
      name: "same eventId, other body (charge)",
      topic: TOPICS.paymentCommands,
      key: original.key,
      value: JSON.stringify({ ...body, amountCents: body.amountCents * 100 }),
      headers: { metadata: original.headers.metadata! },
    });
  }
  {
    // A participant cannot know sagas: it leaves a tombstone and replies; the orchestrator, which
    // knows there is no such saga, dead-letters the reply.
    const { eventId, sagaId, orderId } = ids();
    add({
      name: "command for a saga that does not exist (release)",
      topic: TOPICS.inventoryCommands,
      key: orderId,
      value: JSON.stringify({ orderId }),
      headers: {
        metadata: metadata({ eventType: "RELEASE_INVENTORY", eventId, sagaId, orderId }),
      },
      deadLettersItself: false,
    });
  }
  {
    const { eventId, sagaId, orderId } = ids();
    add({
      name: "reply for a saga that does not exist",
      topic: TOPICS.paymentReplies,
      key: orderId,
      value: JSON.stringify({ orderId, paymentIntentId: "pi_chaos", amountCents: 1_299 }),
      headers: {
        metadata: metadata({ eventType: "PAYMENT_PROCESSED", eventId, sagaId, orderId }),
      },
    });
  }
  if (sources.completed !== null) {
    const { eventId, sagaId } = ids();
    const { orderId } = sources.completed;
    add({
      name: "command for a saga that does not exist (refund of a completed order)",
      topic: TOPICS.paymentCommands,
      key: orderId,
      value: JSON.stringify({ orderId }),
      headers: { metadata: metadata({ eventType: "REFUND_PAYMENT", eventId, sagaId, orderId }) },
    });
  }
  return poison;
}

/** Largest record the broker accepts by default (`message.max.bytes`, a record batch). */
export const BROKER_MAX_MESSAGE_BYTES = 1_048_588;

/**
 * Produces the poison with a producer of its own. The oversized record is padded to the
 * broker's limit: if the broker refuses it, it is made 64 bytes smaller until one fits.
 */
export async function producePoison(kafka: Kafka, poison: readonly PoisonRecord[]): Promise<void> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (const record of poison) {
      if (record.produced) continue;
      const send = (value: string | null) =>
        producer.send({
          topic: inNamespace(kafka, record.topic),
          acks: -1,
          messages: [{ key: record.key, value, headers: record.headers }],
        });
      if (record.name !== "value near the size limit") {
        await send(record.value);
        record.produced = true;
        continue;
      }
      const overhead = 128 + (record.key?.length ?? 0) +
        Object.entries(record.headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      for (let size = BROKER_MAX_MESSAGE_BYTES - overhead;; size -= 64) {
        const head = record.value!.slice(0, -3);
        const value = `${head}"${"x".repeat(Math.max(0, size - head.length - 3))}"}`;
        try {
          await send(value);
          record.value = `(${value.length} bytes)`;
          record.produced = true;
          break;
        } catch (error) {
          const type = (error as { type?: string }).type;
          if (type !== "MESSAGE_TOO_LARGE" || size < 1_000_000) throw error;
        }
      }
    }
  } finally {
    await producer.disconnect();
  }
}
