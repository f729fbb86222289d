/** Conversions between kafkajs messages and the client-independent `WireRecord`. */
import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { WireRecord } from "../messages/mod.ts";

/** A consumed record with its position in the log. */
export interface ConsumedRecord extends WireRecord {
  partition: number;
  offset: string;
  /** The original message, bytes untouched, for dead-lettering. */
  raw: KafkaMessage;
}

/** Reads a consumed kafkajs message as a `ConsumedRecord` (text decoded as UTF-8). */
export function fromKafkaMessage(
  topic: string,
  partition: number,
  message: KafkaMessage,
): ConsumedRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString("utf8") ?? null,
    value: message.value?.toString("utf8") ?? null,
    headers: headersToStrings(message.headers),
    raw: message,
  };
}

/** The kafkajs message to produce for a `WireRecord` (its topic is chosen by the caller). */
export function toKafkaMessage(record: WireRecord): Message {
  return { key: record.key, value: record.value, headers: record.headers };
}

/** Header values as strings; a repeated header keeps its last value. */
export function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) result[name] = last.toString();
  }
  return result;
}
