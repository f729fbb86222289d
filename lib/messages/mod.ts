/** The message contract of DESIGN §3: topics, event types, body schemas and the wire format. */
export * from "./topics.ts";
export * from "./events.ts";
export * from "./bodies.ts";
export * from "./envelope.ts";
export * from "./limits.ts";
