/** Small async helpers: an abortable sleep and waiting on a condition with a deadline. */

/** Resolves after `ms`, or rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A loop's wake-up call: see {@linkcode createWakeup}. */
export interface Wakeup {
  /** Ends the current `wait`, or, if none is running, the next one as soon as it starts. */
  wake(): void;
  /** Resolves on a wake-up, after `ms`, or when `signal` aborts; leaves no timer behind. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * A wake-up for a loop that works, then waits for more work or a timeout: wake-ups arriving
 * while it works are remembered as one, so any number of them costs one more pass, not one each.
 */
export function createWakeup(): Wakeup {
  let pending = false;
  let waiter: (() => void) | null = null;
  return {
    wake() {
      if (waiter === null) pending = true;
      else waiter();
    },
    wait(ms, signal) {
      if (pending || signal.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          waiter = null;
          resolve();
        };
        const timer: ReturnType<typeof setTimeout> = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
        waiter = done;
      });
    },
  };
}

/** Options of `waitFor`. */
export interface WaitForOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** Said in the error when the deadline passes. */
  description?: string;
}

/**
 * Polls `check` until it returns a value other than `undefined`/`false` and returns that value;
 * rejects with a RangeError naming what was awaited once the deadline passes.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50, description = "condition" } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new RangeError(`Timed out after ${timeoutMs} ms waiting for ${description}${cause}`);
    }
    await sleep(intervalMs);
  }
}
