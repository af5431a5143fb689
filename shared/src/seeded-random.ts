/**
 * mulberry32: a tiny seeded PRNG (32 bits of state) that passes the common statistical batteries
 * well enough for reference models, test data and bootstrap resampling, and gives the same
 * sequence on every machine. Math.random cannot be seeded, so it is never used where a result
 * must be reproducible.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
