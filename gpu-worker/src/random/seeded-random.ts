/**
 * A tiny seeded PRNG so that reference models (datasets, initial weights, shuffles) are the same
 * on every machine and every run. Math.random cannot be seeded, so it is never used here.
 */
import { mulberry32 } from "@modelgate/shared";

export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  uniform(min: number, max: number): number;
  /** Integer uniform in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Standard normal (mean 0, standard deviation 1). */
  gaussian(): number;
  /** Fisher–Yates shuffle, in place; returns the same array. */
  shuffle<T>(items: T[]): T[];
}

export { mulberry32 } from "@modelgate/shared";

export function createSeededRandom(seed: number): SeededRandom {
  const next = mulberry32(seed);
  // Box–Muller yields two normals per pair of uniforms; keep the spare so that the sequence of
  // normals depends only on the seed and the number of calls.
  let spare: number | undefined;
  const gaussian = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // 1 - next() is in (0, 1], so the logarithm is always finite.
    const u = 1 - next();
    const v = next();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
  return {
    next,
    uniform: (min, max) => min + (max - min) * next(),
    int: (maxExclusive) => Math.floor(next() * maxExclusive),
    gaussian,
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const a = items[i] as T;
        items[i] = items[j] as T;
        items[j] = a;
      }
      return items;
    },
  };
}
