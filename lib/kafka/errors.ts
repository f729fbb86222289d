/**
 * What a kafkajs error says about the records of a produce request, in one place: refused for
 * good (the broker will never take them as they are: too large, invalid) or not (the broker was
 * away, not the leader, slow: try again). kafkajs wraps the broker's protocol error in its own
 * (`KafkaJSNonRetriableError`, `KafkaJSNumberOfRetriesExceeded`), so the causes are searched too.
 */

/** The broker's error types that refuse records for what they are. */
const REFUSED_FOR_GOOD: ReadonlySet<string> = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
]);

const TOO_LARGE: ReadonlySet<string> = new Set(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]);

/** How deep to follow `cause`: kafkajs nests two or three levels. */
const MAX_DEPTH = 5;

/** What a cluster answers while a coordinator is still loading or moving: wait it out. */
const COORDINATOR_NOT_READY: ReadonlySet<string> = new Set([
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
]);

/** What a cluster answers about a topic it is still creating or electing leaders for. */
const TOPIC_NOT_READY: ReadonlySet<string> = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_CONTROLLER",
  "REQUEST_TIMED_OUT",
]);

/**
 * What a broker answers an idempotent producer whose sequence numbers or id it no longer takes:
 * the producer never gets past it (kafkajs keeps the numbers; the Java client resets them).
 */
const PRODUCER_STATE_LOST: ReadonlySet<string> = new Set([
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "UNKNOWN_PRODUCER_ID",
  "INVALID_PRODUCER_EPOCH",
  "INVALID_PRODUCER_ID_MAPPING",
]);

/** The broker's error types on `error` and its causes, outermost first. */
function errorTypes(error: unknown): string[] {
  const types: string[] = [];
  for (let cause = error, depth = 0; cause != null && depth < MAX_DEPTH; depth++) {
    const { type, originalError } = cause as { type?: unknown; originalError?: unknown };
    if (typeof type === "string") types.push(type);
    cause = (cause as { cause?: unknown }).cause ?? originalError;
  }
  return types;
}

/** The broker's error type (`MESSAGE_TOO_LARGE`, ...) on `error` or its causes, when one says no for good. */
export function refusalType(error: unknown): string | null {
  return errorTypes(error).find((type) => REFUSED_FOR_GOOD.has(type)) ?? null;
}

/**
 * True when the error says a topic is not ready yet (being created, its leaders being elected,
 * e.g. while several services of a cluster create the same topics at once): ask again later.
 */
export function isTopicNotReady(error: unknown): boolean {
  return errorTypes(error).some((type) => TOPIC_NOT_READY.has(type));
}

/**
 * True when the error is a coordinator that is not ready yet (a fresh cluster loading its
 * internal topics, a coordinator moving after a broker died): the same call succeeds later.
 */
export function isCoordinatorNotReady(error: unknown): boolean {
  return errorTypes(error).some((type) => COORDINATOR_NOT_READY.has(type));
}

/**
 * True when the broker refused a send for the producer's sequence numbers (e.g. after a leader
 * died with a request in flight and other records were sent next): only a new producer id,
 * whose numbers start again, gets records in.
 */
export function isProducerStateLost(error: unknown): boolean {
  return errorTypes(error).some((type) => PRODUCER_STATE_LOST.has(type));
}

/** True when the broker refused a produce request for its records, so that retrying it is useless. */
export function isRefusedForGood(error: unknown): boolean {
  return refusalType(error) !== null;
}

/** True when the broker refused a produce request as larger than it accepts. */
export function isTooLarge(error: unknown): boolean {
  return TOO_LARGE.has(refusalType(error) ?? "");
}

/**
 * Why the broker refused, for a person: the error type, what it means here, and the broker's
 * message, e.g. `MESSAGE_TOO_LARGE (over the broker's message.max.bytes or the topic's
 * max.message.bytes): The request included a message larger than ...`.
 */
export function describeRefusal(error: unknown): string {
  const type = refusalType(error);
  if (type === null) return messageOf(error);
  const meaning = TOO_LARGE.has(type)
    ? " (over the broker's message.max.bytes or the topic's max.message.bytes)"
    : "";
  for (let cause = error, depth = 0; cause != null && depth < MAX_DEPTH; depth++) {
    if ((cause as { type?: unknown }).type === type) {
      return `${type}${meaning}: ${messageOf(cause)}`;
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return `${type}${meaning}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
