/**
 * PostgreSQL access shared by the services, the CLI and the scripts: the connection pool, a
 * typed transaction helper and the migration runner.
 *
 * @module
 */
export * from "./pool.ts";
export * from "./transaction.ts";
export * from "./migrate.ts";
