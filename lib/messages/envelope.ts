/**
 * The wire format of DESIGN §3: key = order id, value = the JSON body, header `metadata` = JSON
 * `{ eventType, eventId, sagaId?, orderId, timestamp }`. Encoding builds records; decoding
 * validates everything and throws `MalformedMessageError` with the reason.
 */
import { z } from "zod";
import { MalformedMessageError } from "../errors/mod.ts";
import { CanonicalUuid } from "./bodies.ts";
import { type BodyOf, EVENTS, type EventType, isEventType } from "./events.ts";
import { LIMITS, utf8ByteLength } from "./limits.ts";

/** The `metadata` header; its ids come out lower-cased whatever case they were sent in. */
export const Metadata = z.object({
  eventType: z.string().min(1),
  eventId: CanonicalUuid,
  sagaId: CanonicalUuid.optional(),
  orderId: CanonicalUuid,
  /** The `eventId` of the command a reply answers (an extension; absent on other records). */
  causationId: CanonicalUuid.optional(),
  timestamp: z.iso.datetime({ offset: true }),
});
/** The `metadata` header, validated. */
export type Metadata = z.infer<typeof Metadata> & { eventType: EventType };

/** A decoded, validated message of one event type. */
export type Message<T extends EventType = EventType> = {
  [K in T]: { eventType: K; metadata: Metadata; body: BodyOf<K> };
}[T];

/** A record as it is produced or consumed, independent of the Kafka client. */
export interface WireRecord {
  topic: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** What a producer of one message says; ids and time default to fresh ones. */
export interface OutgoingMessage<T extends EventType = EventType> {
  eventType: T;
  body: BodyOf<T>;
  sagaId?: string;
  /** The command this message answers, when it is a reply. */
  causationId?: string;
  eventId?: string;
  timestamp?: Date;
}

/** Builds the record for a message: topic from the catalogue, key = order id, header metadata. */
export function encodeMessage<T extends EventType>(message: OutgoingMessage<T>): WireRecord {
  const body = EVENTS[message.eventType].body.parse(message.body) as { orderId: string };
  const metadata = {
    eventType: message.eventType,
    eventId: message.eventId ?? crypto.randomUUID(),
    ...(message.sagaId === undefined ? {} : { sagaId: message.sagaId }),
    orderId: body.orderId,
    ...(message.causationId === undefined ? {} : { causationId: message.causationId }),
    timestamp: (message.timestamp ?? new Date()).toISOString(),
  };
  return {
    topic: EVENTS[message.eventType].topic,
    key: body.orderId,
    value: JSON.stringify(body),
    headers: { metadata: JSON.stringify(metadata) },
  };
}

/**
 * Validates a consumed record against the contract, limits included, and returns it in canonical
 * form (ids lower-cased); throws `MalformedMessageError` saying why.
 */
export function decodeMessage(record: WireRecord): Message {
  checkValueSize(record.value);
  const metadata = decodeMetadata(record.headers.metadata);
  const event = EVENTS[metadata.eventType];
  if (event.topic !== record.topic) {
    throw new MalformedMessageError(
      `Event type ${metadata.eventType} does not belong on topic "${record.topic}" (expected "${event.topic}")`,
    );
  }
  const body = event.body.safeParse(parseJson(record.value, "record value"));
  if (!body.success) {
    throw new MalformedMessageError(`Invalid ${metadata.eventType} body: ${describe(body.error)}`);
  }
  const orderId = (body.data as { orderId: string }).orderId;
  if (
    orderId !== metadata.orderId || (record.key !== null && record.key.toLowerCase() !== orderId)
  ) {
    throw new MalformedMessageError(
      `Order id mismatch: key "${record.key}", metadata "${metadata.orderId}", body "${orderId}"`,
    );
  }
  if (metadata.eventType !== "ORDER_CREATED" && metadata.sagaId === undefined) {
    throw new MalformedMessageError(`Metadata of ${metadata.eventType} lacks sagaId`);
  }
  return { eventType: metadata.eventType, metadata, body: body.data } as Message;
}

/** Parses and validates the `metadata` header value. */
export function decodeMetadata(header: string | undefined): Metadata {
  if (header === undefined) throw new MalformedMessageError("Missing header metadata");
  const parsed = Metadata.safeParse(parseJson(header, "header metadata"));
  if (!parsed.success) {
    throw new MalformedMessageError(`Invalid header metadata: ${describe(parsed.error)}`);
  }
  if (!isEventType(parsed.data.eventType)) {
    throw new MalformedMessageError(`Unknown eventType "${parsed.data.eventType}"`);
  }
  return parsed.data as Metadata;
}

function checkValueSize(value: string | null): void {
  if (value === null) return;
  const bytes = utf8ByteLength(value, LIMITS.recordValueBytes);
  if (bytes > LIMITS.recordValueBytes) {
    throw new MalformedMessageError(
      `Record value of ${bytes} bytes is over the limit of ${LIMITS.recordValueBytes} bytes`,
    );
  }
}

function parseJson(text: string | null, what: string): unknown {
  if (text === null) throw new MalformedMessageError(`Empty ${what}`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(`The ${what} is not JSON: ${(error as Error).message}`);
  }
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}
