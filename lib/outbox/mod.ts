/** The transactional outbox: write records with the state change, relay them to Kafka. */
export * from "./write.ts";
export * from "./relay.ts";
