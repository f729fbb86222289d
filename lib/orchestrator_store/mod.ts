/**
 * The orchestrator schema's SQL, in one place: orders with their items, saga rows (the engine's
 * state, and the one read model every reader gets), saga timelines, the reply partitions read
 * (deadlines held per partition) and operators' DLQ replays. The orchestrator, `sagactl` and
 * storefronts call these functions; none of them queries the schema itself.
 */
export * from "./orders.ts";
export * from "./sagas.ts";
export * from "./reads.ts";
export * from "./history.ts";
export * from "./reply_partitions.ts";
export * from "./dlq_replays.ts";
