/** Dead-lettering: a record that cannot be handled goes to `orders.dlq` with the reason. */
import type { IHeaders, Message } from "kafkajs";
import { TOPICS } from "../messages/mod.ts";
import type { ConsumedRecord } from "./records.ts";

/** The headers DESIGN §5 adds to a dead-lettered record. */
export const DLQ_HEADERS = {
  error: "dlq-error",
  sourceTopic: "dlq-source-topic",
  sourcePartition: "dlq-source-partition",
  sourceOffset: "dlq-source-offset",
  failedAt: "dlq-failed-at",
  /** Set when the value was left out (too large to dead-letter): its size in bytes. */
  valueOmitted: "dlq-value-omitted",
} as const;

/** Where dead letters go. */
export const DLQ_TOPIC = TOPICS.ordersDlq;

/** The DLQ message for `record`: original key, value and headers, plus the `dlq-*` headers. */
export function deadLetterMessage(record: ConsumedRecord, reason: string, now: Date): Message {
  const headers: IHeaders = {
    ...record.raw.headers,
    [DLQ_HEADERS.error]: reason,
    [DLQ_HEADERS.sourceTopic]: record.topic,
    [DLQ_HEADERS.sourcePartition]: String(record.partition),
    [DLQ_HEADERS.sourceOffset]: record.offset,
    [DLQ_HEADERS.failedAt]: now.toISOString(),
  };
  return { key: record.raw.key, value: record.raw.value, headers };
}

/**
 * The dead letter without the original value, for a record too large to dead-letter whole (the
 * `dlq-*` headers push a record near the broker's limit over it). The value stays where it was:
 * `dlq-source-topic`, `-partition` and `-offset` point at it; `dlq-value-omitted` gives its size.
 */
export function withoutValue(message: Message): Message {
  const size = message.value === null || message.value === undefined
    ? 0
    : typeof message.value === "string"
    ? new TextEncoder().encode(message.value).length
    : message.value.length;
  return {
    ...message,
    value: null,
    headers: { ...message.headers, [DLQ_HEADERS.valueOmitted]: String(size) },
  };
}
