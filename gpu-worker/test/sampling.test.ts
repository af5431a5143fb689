import { describe, expect, it } from "vitest";
import {
  applyRepetitionPenalty,
  argmax,
  candidateMask,
  createSeededRandom,
  type SamplingFilters,
  sampleToken,
} from "../src/inference/sampling.js";

/** Logits whose softmax (temperature 1) is exactly `probabilities`. */
function logitsOf(probabilities: number[]): number[] {
  return probabilities.map((p) => Math.log(p));
}

function draws(logits: ArrayLike<number>, temperature: number, filters: SamplingFilters, seed = 7, count = 4000) {
  const random = createSeededRandom(seed);
  return Array.from({ length: count }, () => sampleToken(logits, temperature, random, filters));
}

describe("applyRepetitionPenalty", () => {
  /** Penalised in place, as the decode loop does; returns the array for reading. */
  function penalize(values: number[], seen: number[], penalty: number): number[] {
    const logits = Float32Array.from(values);
    applyRepetitionPenalty(logits, new Set(seen), penalty);
    return Array.from(logits);
  }

  it("divides positive and multiplies negative logits of seen tokens, once each", () => {
    expect(penalize([4, -2, 3, 0.5], [0, 1, 1, 1], 2)).toEqual([2, -4, 3, 0.5]);
  });

  it("changes nothing at penalty 1 and ignores ids outside the vocabulary", () => {
    expect(penalize([1, -1], [0, 1], 1)).toEqual([1, -1]);
    expect(penalize([1, -1], [5, -3], 3)).toEqual([1, -1]);
  });

  it("can turn a greedy choice away from a repeated token", () => {
    expect(argmax([3, 2.5, -1])).toBe(0);
    expect(argmax(penalize([3, 2.5, -1], [0], 1.5))).toBe(1);
  });
});

describe("candidateMask", () => {
  const weights = [0.15, 0.5, 0.05, 0.3];

  it("keeps the k most likely with top-k", () => {
    expect(Array.from(candidateMask(weights, { topK: 2 }))).toEqual([0, 1, 0, 1]);
    expect(Array.from(candidateMask(weights, { topK: 1000 }))).toEqual([1, 1, 1, 1]);
  });

  it("keeps the smallest set whose cumulative probability reaches top-p", () => {
    expect(Array.from(candidateMask(weights, { topP: 0.5 }))).toEqual([0, 1, 0, 0]);
    expect(Array.from(candidateMask(weights, { topP: 0.51 }))).toEqual([0, 1, 0, 1]);
    expect(Array.from(candidateMask(weights, { topP: 0.7 }))).toEqual([0, 1, 0, 1]);
    expect(Array.from(candidateMask(weights, { topP: 0.9 }))).toEqual([1, 1, 0, 1]);
    expect(Array.from(candidateMask(weights, { topP: 1 }))).toEqual([1, 1, 1, 1]);
    // Always at least the most likely token, however small top-p is.
    expect(Array.from(candidateMask(weights, { topP: 1e-9 }))).toEqual([0, 1, 0, 0]);
  });

  it("applies top-p to what top-k kept, renormalised", () => {
    // Top-2 leaves 0.5 and 0.3, i.e. 0.625 and 0.375: top-p 0.6 keeps one, 0.7 keeps both.
    expect(Array.from(candidateMask(weights, { topK: 2, topP: 0.6 }))).toEqual([0, 1, 0, 0]);
    expect(Array.from(candidateMask(weights, { topK: 2, topP: 0.7 }))).toEqual([0, 1, 0, 1]);
  });

  it("breaks ties towards the lower index", () => {
    expect(Array.from(candidateMask([1, 2, 2, 1], { topK: 1 }))).toEqual([0, 1, 0, 0]);
  });
});

describe("sampleToken with filters", () => {
  const logits = logitsOf([0.15, 0.5, 0.05, 0.3]);

  it("top-k 1 is greedy at any temperature and seed", () => {
    for (const seed of [1, 2, 3]) {
      expect(new Set(draws(logits, 1.5, { topK: 1 }, seed, 200))).toEqual(new Set([argmax(logits)]));
    }
  });

  it("draws only from the nucleus, in proportion to the renormalised probabilities", () => {
    const sampled = draws(logits, 1, { topP: 0.7 });
    expect(new Set(sampled)).toEqual(new Set([1, 3]));
    const share = sampled.filter((t) => t === 1).length / sampled.length;
    expect(share).toBeGreaterThan(0.58);
    expect(share).toBeLessThan(0.67);
  });

  it("is reproducible for a seed with top-k and top-p, and differs across seeds", () => {
    const filters = { topK: 3, topP: 0.9 };
    expect(draws(logits, 1, filters, 11, 500)).toEqual(draws(logits, 1, filters, 11, 500));
    expect(draws(logits, 1, filters, 11, 500)).not.toEqual(draws(logits, 1, filters, 12, 500));
    expect(draws(logits, 1, filters, 11)).not.toContain(2);
  });

  it("draws exactly as before when no filter is set", () => {
    expect(draws(logits, 0.8, {}, 5, 300)).toEqual(draws(logits, 0.8, { topP: 1 }, 5, 300));
  });

  it("ignores top-k and top-p when greedy", () => {
    expect(sampleToken([1, 5, 5, 2], 0, () => 0.99, { topK: 1, topP: 0.01 })).toBe(1);
  });
});
