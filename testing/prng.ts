/**
 * A small seeded pseudo-random generator (sfc32, seeded through splitmix32): the same seed gives
 * the same orders and the same fault schedule, so a failing chaos run can be replayed. Not for
 * anything secret.
 */

/** A stream of pseudo-random numbers from one seed. */
export interface Prng {
  /** The seed this stream started from. */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** A float in [min, max). */
  between(min: number, max: number): number;
  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
  /** One of `items`, each as likely as its weight. */
  weighted<T>(items: readonly { value: T; weight: number }[]): T;
  /** A copy of `items` in random order. */
  shuffle<T>(items: readonly T[]): T[];
  /** An exponentially distributed float with the given mean (waits of a Poisson process). */
  exponential(mean: number): number;
  /** A version-4 UUID made from the stream. */
  uuid(): string;
  /** An independent stream for one part of a run (orders, faults…), derived from the seed. */
  fork(label: string): Prng;
}

/** Parses a seed: a decimal integer, or any other text (hashed); throws `RangeError` on "". */
export function parseSeed(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "") throw new RangeError("Cannot parse the seed: it is empty");
  if (/^\d+$/.test(trimmed)) return Number(BigInt(trimmed) % 2n ** 32n);
  return hashString(trimmed);
}

/** A fresh random seed, for runs that were not given one. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** Creates the stream of `seed` (an integer; only its low 32 bits count). */
export function createPrng(seed: number): Prng {
  const base = seed >>> 0;
  const init = splitmix32(base);
  let a = init();
  let b = init();
  let c = init();
  let d = init();

  function next(): number {
    // sfc32
    a >>>= 0, b >>>= 0, c >>>= 0, d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  const prng: Prng = {
    seed: base,
    next,
    between: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError("Cannot pick from an empty list");
      return items[Math.floor(next() * items.length)]!;
    },
    weighted<T>(items: readonly { value: T; weight: number }[]): T {
      const total = items.reduce((sum, item) => sum + item.weight, 0);
      if (!(total > 0)) throw new RangeError("Cannot pick by weight: the weights add up to 0");
      let roll = next() * total;
      for (const item of items) {
        roll -= item.weight;
        if (roll < 0) return item.value;
      }
      return items.at(-1)!.value;
    },
    shuffle<T>(items: readonly T[]): T[] {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
    exponential: (mean) => -mean * Math.log(1 - next()),
    uuid(): string {
      const bytes = new Uint8Array(16);
      for (let i = 0; i < 16; i++) bytes[i] = Math.floor(next() * 256);
      bytes[6] = (bytes[6]! & 0x0f) | 0x40;
      bytes[8] = (bytes[8]! & 0x3f) | 0x80;
      const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
        hex.slice(20)
      }`;
    },
    fork: (label) => createPrng(hashString(`${base}:${label}`)),
  };
  return prng;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return function nextSplitmix32() {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a, 32 bits. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
