import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import {
  describeRefusal,
  isCoordinatorNotReady,
  isProducerStateLost,
  isRefusedForGood,
  isTooLarge,
  isTopicNotReady,
  refusalType,
} from "./errors.ts";

/** A protocol error as kafkajs builds it from a broker's error code. */
function protocolError(type: string, message: string, retriable = false): Error {
  // kafkajs's types know only its (message) constructor; it takes the code's description.
  return new kafkajs.KafkaJSProtocolError(
    { type, message, retriable, code: 0 } as unknown as Error,
  );
}

/** kafkajs's wrapper for what its retrier gives up on at once, with the error as its cause. */
function nonRetriable(error: Error): Error {
  const Wrapper = kafkajs.KafkaJSNonRetriableError as unknown as new (
    e: Error,
    options: { cause: Error },
  ) => Error;
  return new Wrapper(error, { cause: error });
}

const tooLarge = protocolError(
  "MESSAGE_TOO_LARGE",
  "The request included a message larger than the max message size the server will accept",
);

Deno.test("refusalType() finds the broker's refusal on the error or among its causes", () => {
  assert.equal(refusalType(tooLarge), "MESSAGE_TOO_LARGE");
  // kafkajs's retrier wraps what it gave up on.
  const wrapped = nonRetriable(tooLarge);
  assert.equal(refusalType(wrapped), "MESSAGE_TOO_LARGE");
  const corrupt = protocolError(
    "CORRUPT_MESSAGE",
    "This message has failed its CRC checksum",
    true,
  );
  const exhausted = new kafkajs.KafkaJSNumberOfRetriesExceeded(corrupt, {
    retryCount: 5,
    retryTime: 1_000,
  });
  assert.equal(refusalType(exhausted), "CORRUPT_MESSAGE");
  assert.equal(refusalType(new Error("Send failed", { cause: wrapped })), "MESSAGE_TOO_LARGE");
});

Deno.test("isRefusedForGood() is false for what may pass: the broker away, a leader moving, a timeout", () => {
  for (
    const error of [
      new kafkajs.KafkaJSError("The producer is disconnected"),
      new kafkajs.KafkaJSConnectionError("Connection error: connect ECONNREFUSED 127.0.0.1:9092"),
      new kafkajs.KafkaJSRequestTimeoutError("Request Produce(key: 0, version: 7) timed out"),
      protocolError("NOT_LEADER_OR_FOLLOWER", "This server is not the leader", true),
      protocolError("UNKNOWN_TOPIC_OR_PARTITION", "This server does not host this topic", true),
      protocolError("OUT_OF_ORDER_SEQUENCE_NUMBER", "The broker received an out of order sequence"),
      new kafkajs.KafkaJSNumberOfRetriesExceeded(
        protocolError(
          "NOT_ENOUGH_REPLICAS",
          "Messages are rejected since there are fewer in-sync replicas",
          true,
        ),
        { retryCount: 5, retryTime: 1_000 },
      ),
      new Error("Something else"),
      null,
      "a string",
    ]
  ) {
    assert.equal(isRefusedForGood(error), false, String(error));
  }
});

Deno.test("isRefusedForGood() and isTooLarge() tell the refusals apart", () => {
  for (const type of ["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]) {
    assert.equal(isTooLarge(protocolError(type, "Too large")), true);
    assert.equal(isRefusedForGood(protocolError(type, "Too large")), true);
  }
  const invalid = protocolError(
    "INVALID_RECORD",
    "This record has failed the validation on broker",
  );
  assert.equal(isRefusedForGood(invalid), true);
  assert.equal(isTooLarge(invalid), false);
});

Deno.test("describeRefusal() names the type, the size limits when too large, and the broker's words", () => {
  assert.equal(
    describeRefusal(nonRetriable(tooLarge)),
    "MESSAGE_TOO_LARGE (over the broker's message.max.bytes or the topic's max.message.bytes): " +
      "The request included a message larger than the max message size the server will accept",
  );
  assert.equal(
    describeRefusal(protocolError("INVALID_RECORD", "This record has failed the validation")),
    "INVALID_RECORD: This record has failed the validation",
  );
  assert.equal(describeRefusal(new Error("Broker away")), "Broker away");
});

Deno.test("isCoordinatorNotReady() waits out a loading coordinator, wrapped or not, and nothing else", () => {
  const loading = protocolError(
    "COORDINATOR_LOAD_IN_PROGRESS",
    "The coordinator is loading and hence can't process requests for this group",
    true,
  );
  assert.equal(isCoordinatorNotReady(loading), true);
  assert.equal(isCoordinatorNotReady(nonRetriable(loading)), true);
  assert.equal(isCoordinatorNotReady(protocolError("NOT_COORDINATOR", "Not coordinator")), true);
  assert.equal(isCoordinatorNotReady(tooLarge), false);
  assert.equal(isCoordinatorNotReady(new Error("Connection refused")), false);
});

Deno.test("isTopicNotReady() asks again while a topic is being created, even behind a wrapper", () => {
  const unknown = protocolError(
    "UNKNOWN_TOPIC_OR_PARTITION",
    "This server does not host this topic-partition",
    true,
  );
  const wrapped = new Error("Cannot create topics orders: ...", { cause: nonRetriable(unknown) });
  assert.equal(isTopicNotReady(wrapped), true);
  assert.equal(isTopicNotReady(protocolError("LEADER_NOT_AVAILABLE", "No leader", true)), true);
  assert.equal(isTopicNotReady(tooLarge), false);
  assert.equal(isTopicNotReady(new Error("Connection refused")), false);
});

Deno.test("isProducerStateLost() sees a sequence the broker will not take, wrapped or not", () => {
  const outOfOrder = protocolError(
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "The broker received an out of order sequence number",
  );
  assert.equal(isProducerStateLost(outOfOrder), true);
  assert.equal(isProducerStateLost(nonRetriable(outOfOrder)), true);
  assert.equal(isProducerStateLost(protocolError("UNKNOWN_PRODUCER_ID", "Unknown")), true);
  assert.equal(isProducerStateLost(tooLarge), false);
  assert.equal(isProducerStateLost(protocolError("NOT_LEADER_OR_FOLLOWER", "Moved", true)), false);
  assert.equal(isProducerStateLost(new Error("Connection refused")), false);
});
