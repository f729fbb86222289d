/** The order saga's timings and limits, from configuration (DESIGN §4 defaults). */
import { decimal, duration, integer } from "../config/mod.ts";
import type { SagaPolicy } from "../saga/mod.ts";

/** The variables that set the saga policy; read by the orchestrator and by `sagactl`. */
export const SAGA_POLICY_VARIABLES = {
  STEP_TIMEOUT: duration("30s"),
  STEP_GIVE_UP: duration("10m"),
  COMPENSATION_GIVE_UP: duration("24h"),
  COMPENSATION_RETRY_INITIAL: duration("1s"),
  COMPENSATION_RETRY_FACTOR: decimal({ min: 1, max: 10, fallback: 2 }),
  COMPENSATION_RETRY_MAX: duration("60s"),
  COMPENSATION_RETRY_JITTER: decimal({ min: 0, max: 1, fallback: 0.2 }),
  MAX_COMPENSATION_RETRIES: integer({ min: 0, max: 1_000, fallback: 3 }),
};

/** Values of `SAGA_POLICY_VARIABLES`, as `loadConfig` returns them. */
export interface SagaPolicyConfig {
  STEP_TIMEOUT: number;
  STEP_GIVE_UP: number;
  COMPENSATION_GIVE_UP: number;
  COMPENSATION_RETRY_INITIAL: number;
  COMPENSATION_RETRY_FACTOR: number;
  COMPENSATION_RETRY_MAX: number;
  COMPENSATION_RETRY_JITTER: number;
  MAX_COMPENSATION_RETRIES: number;
}

/** The engine policy for a loaded configuration. */
export function sagaPolicyFrom(config: SagaPolicyConfig): SagaPolicy {
  return {
    stepTimeoutMs: config.STEP_TIMEOUT,
    stepGiveUpMs: config.STEP_GIVE_UP,
    compensationGiveUpMs: config.COMPENSATION_GIVE_UP,
    maxCompensationRetries: config.MAX_COMPENSATION_RETRIES,
    backoff: {
      initialMs: config.COMPENSATION_RETRY_INITIAL,
      factor: config.COMPENSATION_RETRY_FACTOR,
      maxMs: config.COMPENSATION_RETRY_MAX,
      jitterRatio: config.COMPENSATION_RETRY_JITTER,
    },
  };
}
