/** The order saga: its definition, the orchestrator's registry, policy, persistence, applying events. */
export * from "./definition.ts";
export * from "./registry.ts";
export * from "./policy.ts";
export * from "./store.ts";
export * from "./apply.ts";
export * from "./reply_partitions.ts";
