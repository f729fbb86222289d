/** The order saga: its definition, the registry, policy, applying events and reply routes. */
export * from "./definition.ts";
export * from "./registry.ts";
export * from "./policy.ts";
export * from "./apply.ts";
export * from "./reply_partitions.ts";
