/** The transactional outbox: write with the state change, relay to Kafka, measure the backlog. */
export * from "./write.ts";
export * from "./relay.ts";
export * from "./backlog.ts";
