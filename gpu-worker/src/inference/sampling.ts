/** Next-token choice: greedy argmax, or temperature sampling driven by a seeded PRNG. */

/** Same generator as the reference models' training: one seed, one sequence, on every machine. */
export { mulberry32 as createSeededRandom } from "../random/seeded-random.js";

export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] ?? 0;
}

/** Index of the largest value; the first one wins a tie, so greedy decoding is deterministic. */
export function argmax(values: ArrayLike<number>, start = 0, length = values.length - start): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) {
    const value = values[start + i] ?? Number.NEGATIVE_INFINITY;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}

/** Draws from softmax(logits / temperature); temperature 0 means argmax. */
export function sampleToken(logits: ArrayLike<number>, temperature: number, random: () => number): number {
  if (temperature <= 0) return argmax(logits);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] ?? Number.NEGATIVE_INFINITY);
  const weights = new Float64Array(logits.length);
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    // Subtracting the max keeps exp() in range for any logit scale.
    const weight = Math.exp(((logits[i] ?? Number.NEGATIVE_INFINITY) - max) / temperature);
    weights[i] = weight;
    total += weight;
  }
  let threshold = random() * total;
  for (let i = 0; i < weights.length; i++) {
    threshold -= weights[i] ?? 0;
    if (threshold < 0) return i;
  }
  return argmax(logits);
}
