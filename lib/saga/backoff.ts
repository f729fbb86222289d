/** Exponential backoff with jitter for compensation retries (DESIGN §4). */

/** Backoff and retry limits. */
export interface BackoffPolicy {
  /** Delay before the first retry (default 1 s). */
  initialMs: number;
  /** Growth per retry (default ×2). */
  factor: number;
  /** Longest delay (default 60 s). */
  maxMs: number;
  /** Spread as a fraction of the delay (default 0.2 = ±20 %). */
  jitterRatio: number;
}

/** DESIGN §4 defaults. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  factor: 2,
  maxMs: 60_000,
  jitterRatio: 0.2,
};

/** Delay before retry number `retry` (1-based); `jitter` is a sample in [-1, 1]. */
export function backoffDelayMs(retry: number, jitter: number, policy: BackoffPolicy): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (retry - 1));
  const clamped = Math.max(-1, Math.min(1, jitter));
  return Math.round(base * (1 + policy.jitterRatio * clamped));
}
