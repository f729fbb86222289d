/**
 * Redis access shared by the services: one configured ioredis client.
 *
 * @module
 */
export * from "./client.ts";
