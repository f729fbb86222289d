/**
 * Configuration from the environment (and an optional `.env` file beneath it), validated at
 * start. A missing or malformed value becomes one `ConfigError` line naming the variable, with
 * the value shown by `describeValue` (passwords and keys masked, secret variables not shown).
 */
import { z } from "zod";
import { ConfigError } from "../errors/mod.ts";
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_KAFKA_BROKERS,
  DEFAULT_OPS_HOST,
  DEFAULT_REDIS_URL,
  DEFAULT_TOPIC_PARTITIONS,
} from "./defaults.ts";
import { describeValue } from "./secrets.ts";
import { brokerList, integer, kafkaNamespace, listenHost, logLevel, urlOf } from "./variables.ts";

export * from "./defaults.ts";
export * from "./variables.ts";
export { describeValue, isSecretVariable, maskSecrets } from "./secrets.ts";
export { parseDotEnv, withDotEnv } from "./dotenv.ts";

/** Variables every service and sagactl read. */
export const COMMON_VARIABLES = {
  KAFKA_BROKERS: brokerList(DEFAULT_KAFKA_BROKERS),
  KAFKA_NAMESPACE: kafkaNamespace(),
  KAFKA_TOPIC_PARTITIONS: integer({ min: 1, max: 1000, fallback: DEFAULT_TOPIC_PARTITIONS }),
  DATABASE_URL: urlOf(["postgres:", "postgresql:"], DEFAULT_DATABASE_URL),
  REDIS_URL: urlOf(["redis:", "rediss:"], DEFAULT_REDIS_URL),
  LOG_LEVEL: logLevel("info"),
  /** Where the ops server listens (DESIGN §9): loopback unless set, e.g. `0.0.0.0`. */
  OPS_HOST: listenHost(DEFAULT_OPS_HOST),
};

/** Validates `env` against named variable schemas; throws `ConfigError` naming the first bad one. */
export function loadConfig<const V extends Record<string, z.ZodType>>(
  variables: V,
  env: Record<string, string | undefined>,
): { [K in keyof V]: z.output<V[K]> } {
  const result = z.object(variables).safeParse(env);
  if (result.success) return result.data as { [K in keyof V]: z.output<V[K]> };
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? "(unknown)");
  const value = env[name];
  const problem = value === undefined || value === ""
    ? "is required but not set"
    : `${issue?.message ?? "is invalid"} ${describeValue(name, String(value))}`;
  throw new ConfigError(`Invalid configuration: ${name} ${problem}`);
}
