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

/** Top-k and top-p (nucleus) limits on the candidates a sampled token is drawn from. */
export interface SamplingFilters {
  topK?: number | undefined;
  topP?: number | undefined;
}

/**
 * CTRL-style repetition penalty (Keskar et al. 2019): every token already seen becomes less likely
 * once, however often it appeared. Positive logits are divided and negative ones multiplied, so
 * the penalty always pushes towards "less likely". Changes `logits` in place (it runs on every
 * decode step, where a copy per step and per sequence adds up).
 */
export function applyRepetitionPenalty(logits: Float32Array, seenTokenIds: ReadonlySet<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of seenTokenIds) {
    const logit = logits[id];
    if (logit === undefined) continue;
    logits[id] = logit > 0 ? logit / penalty : logit * penalty;
  }
}

/**
 * Which candidates survive top-k, then top-p over what top-k kept (renormalised), as a 0/1 mask.
 * `weights` are unnormalised probabilities. Ties keep the lower index, so the mask is deterministic.
 * At least one candidate (the most likely) always survives.
 */
export function candidateMask(weights: ArrayLike<number>, filters: SamplingFilters): Uint8Array {
  const mask = new Uint8Array(weights.length);
  const order = Array.from({ length: weights.length }, (_, i) => i).sort(
    (a, b) => (weights[b] ?? 0) - (weights[a] ?? 0) || a - b,
  );
  const kept = order.slice(0, Math.min(filters.topK ?? order.length, order.length));
  let keptTotal = 0;
  for (const id of kept) keptTotal += weights[id] ?? 0;
  const threshold = (filters.topP ?? 1) * keptTotal;
  let cumulative = 0;
  for (const id of kept) {
    mask[id] = 1;
    // Summed in the same order as keptTotal, so top_p = 1 keeps exactly what top-k kept.
    cumulative += weights[id] ?? 0;
    if (cumulative >= threshold) break;
  }
  return mask;
}

/**
 * Draws from softmax(logits / temperature), limited to the top-k / top-p candidates when asked;
 * temperature 0 means argmax, which ignores the filters.
 */
export function sampleToken(
  logits: ArrayLike<number>,
  temperature: number,
  random: () => number,
  filters: SamplingFilters = {},
): number {
  if (temperature <= 0) return argmax(logits);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] ?? Number.NEGATIVE_INFINITY);
  const weights = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) {
    // Subtracting the max keeps exp() in range for any logit scale.
    weights[i] = Math.exp(((logits[i] ?? Number.NEGATIVE_INFINITY) - max) / temperature);
  }
  if (filters.topK !== undefined || filters.topP !== undefined) {
    const mask = candidateMask(weights, filters);
    for (let i = 0; i < weights.length; i++) if (mask[i] === 0) weights[i] = 0;
  }
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i] ?? 0;
  // Drawn in vocabulary order, so an unfiltered draw is the same as before filters existed.
  let threshold = random() * total;
  for (let i = 0; i < weights.length; i++) {
    threshold -= weights[i] ?? 0;
    if (threshold < 0) return i;
  }
  return argmax(weights);
}
