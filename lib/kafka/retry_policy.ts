/** What the consumer runner does after a handler failure: pure, so it is tested on its own. */
import { isInfrastructureFault, MalformedMessageError } from "../errors/mod.ts";

/** The runner's next move after a failed attempt. */
export type FailureAction =
  | { action: "dead-letter"; reason: string }
  | { action: "retry"; delayMs: number };

/** Bounds of the retry policy. */
export interface RetryPolicy {
  /** Attempts for an unexpected error before the record goes to the DLQ. */
  maxAttempts: number;
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Longest delay between attempts. */
  maxDelayMs: number;
}

/** Defaults: 5 attempts, 100 ms doubling up to 5 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 5_000,
};

/**
 * Decides after failed attempt number `attempt` (1-based): malformed input is dead-lettered at
 * once; an infrastructure fault is retried without limit (never dropped); any other error is
 * retried until `maxAttempts`, then dead-lettered.
 */
export function onHandlerFailure(
  error: unknown,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): FailureAction {
  if (error instanceof MalformedMessageError) {
    return { action: "dead-letter", reason: error.message };
  }
  const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
  if (isInfrastructureFault(error) || attempt < policy.maxAttempts) {
    return { action: "retry", delayMs };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { action: "dead-letter", reason: `Failed after ${attempt} attempts: ${message}` };
}
