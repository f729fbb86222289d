/** A bound on how many calls run at once: the external calls of a participant (DESIGN §5). */
import { integer } from "../config/variables.ts";

/** External calls in flight at once, unless a participant says otherwise. */
export const DEFAULT_CALL_CONCURRENCY = 16;

/** The config variable of a participant's bound on external calls in flight (1 to 256). */
export function callConcurrency(fallback: number) {
  return integer({ min: 1, max: 256, fallback });
}

/** Runs `call` once fewer than the bound are running; resolves or rejects as it does. */
export type Limit = <T>(call: () => Promise<T>) => Promise<T>;

/** A limit of `max` calls at once; the others wait, first come first served. */
export function createLimit(max: number): Limit {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`Cannot limit calls to ${max} at once: the bound must be an integer >= 1`);
  }
  let running = 0;
  const waiting: Array<() => void> = [];
  return async function limited<T>(call: () => Promise<T>): Promise<T> {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await call();
    } finally {
      // The slot passes to the next in line as it is; only when nobody waits is it given back.
      const next = waiting.shift();
      if (next === undefined) running--;
      else next();
    }
  };
}
