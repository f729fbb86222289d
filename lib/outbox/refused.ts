/** The alert for an outbox row Kafka refused for good, set aside by the relay (DESIGN §5). */
import { encodeMessage, type WireRecord } from "../messages/mod.ts";
import type { OutboxRow } from "./write.ts";

/**
 * The order or saga id an alert carries when the refused record names none: the contract has both
 * on every record but `ORDER_CREATED`, and the alert's are its record's.
 */
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `OUTBOX_RECORD_REFUSED` alert for `row` of `schema`'s outbox: which record, for which order
 * and topic, how large, and why it was refused; not the refused value itself, which stays in the
 * outbox row.
 */
export function refusalAlert(
  row: OutboxRow,
  options: { schema: string; reason: string; now?: Date },
): WireRecord {
  const metadata = parseMetadata(row.headers.metadata);
  const uuid = (value: unknown) => typeof value === "string" && UUID.test(value) ? value : null;
  return encodeMessage({
    eventType: "OUTBOX_RECORD_REFUSED",
    body: {
      orderId: uuid(metadata.orderId) ?? uuid(row.key) ?? NIL_UUID,
      schema: options.schema,
      outboxId: row.id,
      topic: row.topic,
      eventType: typeof metadata.eventType === "string" && metadata.eventType !== ""
        ? metadata.eventType
        : null,
      eventId: uuid(metadata.eventId),
      bytes: row.value === null ? 0 : new TextEncoder().encode(row.value).length,
      reason: options.reason,
    },
    sagaId: uuid(metadata.sagaId) ?? NIL_UUID,
    ...(options.now === undefined ? {} : { timestamp: options.now }),
  });
}

function parseMetadata(header: string | undefined): Record<string, unknown> {
  if (header === undefined) return {};
  try {
    const value: unknown = JSON.parse(header);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : {};
  } catch {
    return {};
  }
}
