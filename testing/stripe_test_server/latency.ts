/**
 * How long the test server takes to answer: a log-normal spread around a median, like the
 * response times of a real API (most answers near the median, a long tail of slow ones, the
 * 99th percentile about three times the median).
 *
 * @module
 */

/** The 99th percentile of the standard normal distribution. */
const Z_99 = 2.3263478740408408;

/** Log-normal sigma that puts the 99th percentile at three times the median (≈ 0.472). */
export const LATENCY_SIGMA = Math.log(3) / Z_99;

/**
 * One answer time in ms, drawn from the log-normal distribution with median `medianMs` and
 * sigma {@linkcode LATENCY_SIGMA}; `random` gives floats in [0, 1) (e.g. a seeded PRNG's
 * `next`). A median of 0 always gives 0; throws `RangeError` on a negative or non-finite median.
 */
export function sampleLatency(medianMs: number, random: () => number = Math.random): number {
  if (!Number.isFinite(medianMs) || medianMs < 0) {
    throw new RangeError(
      `Cannot sample a latency: the median must be a number of ms >= 0, got ${medianMs}`,
    );
  }
  if (medianMs === 0) return 0;
  return medianMs * Math.exp(LATENCY_SIGMA * standardNormal(random));
}

/** A standard normal variate by the Box–Muller transform. */
function standardNormal(random: () => number): number {
  // 1 - u is in (0, 1], so the logarithm is finite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
