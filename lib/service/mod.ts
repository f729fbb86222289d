/** The runtime every service shares: open resources, run until signalled, close in order. */
export * from "./runtime.ts";
export * from "./shutdown.ts";
