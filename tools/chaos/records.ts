/**
 * Faults made of records: commands and replies delivered again (the same eventId several times),
 * and replies delivered late or out of order (a fresh eventId, after the saga moved on). All
 * are copies of what the services really sent, read back from the run's topics.
 */
import type { Kafka, Producer } from "kafkajs";
import type { Sql } from "../../lib/db/mod.ts";
import { publish } from "../../lib/kafka/producer.ts";
import type { ConsumedRecord } from "../../lib/kafka/records.ts";
import type { Topic, WireRecord } from "../../lib/messages/mod.ts";
import { FINAL_STATUSES, type SagaStatus } from "../../lib/saga/mod.ts";
import { COMMAND_TOPICS, REPLY_TOPICS } from "../../lib/topology/mod.ts";
import { readTopicToEnd } from "../../testing/kafka.ts";
import { INJECTION_HEADER } from "./poison.ts";
import type { Prng } from "../../testing/prng.ts";

/** Every record of `topics` so far, in a stable order (topic, partition, offset). */
export async function readAll(kafka: Kafka, topics: readonly Topic[]): Promise<ConsumedRecord[]> {
  const records = (await Promise.all(topics.map((topic) => readTopicToEnd(kafka, topic)))).flat();
  return records.sort((a, b) =>
    a.topic.localeCompare(b.topic) || a.partition - b.partition ||
    Number(BigInt(a.offset) - BigInt(b.offset))
  );
}

function copyOf(record: ConsumedRecord): WireRecord {
  return { topic: record.topic, key: record.key, value: record.value, headers: record.headers };
}

/** Options of {@linkcode duplicateRecords}. */
export interface DuplicateOptions {
  commands: number;
  replies: number;
  /** How many more times each chosen record is delivered. */
  copies: number;
}

/** Publishes random commands and replies again, unchanged, `copies` times each. */
export async function duplicateRecords(
  kafka: Kafka,
  producer: Producer,
  rng: Prng,
  options: DuplicateOptions,
): Promise<{ commands: number; replies: number; published: number }> {
  // What the services sent, not the poison of an earlier fault.
  const genuine = (records: ConsumedRecord[]) =>
    records.filter((record) => record.headers[INJECTION_HEADER] === undefined);
  const commands = rng.shuffle(genuine(await readAll(kafka, COMMAND_TOPICS)))
    .slice(0, options.commands);
  const replies = rng.shuffle(genuine(await readAll(kafka, REPLY_TOPICS)))
    .slice(0, options.replies);
  const chosen = [...commands, ...replies].map(copyOf);
  for (let copy = 0; copy < options.copies; copy++) await publish(producer, chosen);
  return {
    commands: commands.length,
    replies: replies.length,
    published: chosen.length * options.copies,
  };
}

/** Options of {@linkcode lateReplies}. */
export interface LateOptions {
  /** Replies re-sent for sagas that are final now. */
  late: number;
  /** Replies re-sent for sagas still running, answering a command they no longer wait on. */
  reordered: number;
}

/**
 * Sends copies of earlier replies under fresh eventIds (a participant's retry would have one):
 * to sagas that have finished, and to running sagas whose pending command is another one. The
 * orchestrator must record each and ignore it; returns the eventIds to check that with.
 */
export async function lateReplies(
  kafka: Kafka,
  producer: Producer,
  sql: Sql,
  rng: Prng,
  options: LateOptions,
): Promise<{ late: string[]; reordered: string[] }> {
  const replies = await readAll(kafka, REPLY_TOPICS);
  const sagas = new Map(
    (await sql<{ saga_id: string; status: SagaStatus; pending_command_id: string | null }[]>`
      select saga_id, status, pending_command_id from orchestrator.sagas`)
      .map((row) => [row.saga_id, row]),
  );
  const late: ConsumedRecord[] = [];
  const reordered: ConsumedRecord[] = [];
  for (const reply of replies) {
    if (reply.headers[INJECTION_HEADER] !== undefined) continue;
    let metadata: { sagaId?: string; causationId?: string };
    try {
      metadata = JSON.parse(reply.headers.metadata ?? "");
    } catch {
      continue;
    }
    const saga = sagas.get(metadata.sagaId ?? "");
    if (saga === undefined || metadata.causationId === undefined) continue;
    if (FINAL_STATUSES.has(saga.status)) late.push(reply);
    else if (saga.pending_command_id !== metadata.causationId) reordered.push(reply);
  }
  const resend = (record: ConsumedRecord) => {
    const eventId = crypto.randomUUID();
    const metadata = {
      ...JSON.parse(record.headers.metadata!),
      eventId,
      timestamp: new Date().toISOString(),
    };
    return {
      eventId,
      record: { ...copyOf(record), headers: { metadata: JSON.stringify(metadata) } },
    };
  };
  const lateSent = rng.shuffle(late).slice(0, options.late).map(resend);
  const reorderedSent = rng.shuffle(reordered).slice(0, options.reordered).map(resend);
  await publish(producer, [...lateSent, ...reorderedSent].map((sent) => sent.record));
  return {
    late: lateSent.map((sent) => sent.eventId),
    reordered: reorderedSent.map((sent) => sent.eventId),
  };
}
