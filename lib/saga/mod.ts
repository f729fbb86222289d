/** The saga engine: definitions as values, a small execution state, and a pure transition. */
export * from "./definition.ts";
export * from "./state.ts";
export * from "./backoff.ts";
export * from "./transition.ts";
export * from "./registry.ts";
