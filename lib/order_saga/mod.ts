/** The order saga: its definition, policy, persistence, and applying events to it. */
export * from "./definition.ts";
export * from "./policy.ts";
export * from "./store.ts";
export * from "./apply.ts";
export * from "./reply_partitions.ts";
