import { describe, expect, it } from "vitest";
import { haltProbability } from "../src/halt.js";

/** Textbook softmax, fine for small magnitudes. */
function softmaxHalt(c: number, h: number): number {
  const ec = Math.exp(c);
  const eh = Math.exp(h);
  return eh / (ec + eh);
}

describe("haltProbability", () => {
  const ordinary: Array<[number, number]> = [
    [0, 1],
    [1, 0],
    [-2.5, 3.25],
    [3, -4],
    [0.1, 0.2],
    [-10, -9],
    [20, 19.5],
  ];

  it.each(ordinary)("equals softmax([%d, %d])[1] for ordinary values", (c, h) => {
    expect(haltProbability([c, h])).toBeCloseTo(softmaxHalt(c, h), 12);
  });

  it("matches known values", () => {
    expect(haltProbability([0, Math.log(3)])).toBeCloseTo(0.75, 12);
    expect(haltProbability([Math.log(3), 0])).toBeCloseTo(0.25, 12);
    expect(haltProbability([0, 1])).toBeCloseTo(0.7310585786300049, 12);
  });

  it.each(ordinary)("is symmetric: p(%d, %d) = 1 − p(h, c)", (c, h) => {
    expect(haltProbability([c, h])).toBeCloseTo(1 - haltProbability([h, c]), 12);
  });

  it("is increasing in the halt logit and decreasing in the continue logit", () => {
    expect(haltProbability([0, 2])).toBeGreaterThan(haltProbability([0, 1]));
    expect(haltProbability([2, 0])).toBeLessThan(haltProbability([1, 0]));
  });

  it("returns 0.5 for equal logits", () => {
    expect(haltProbability([0, 0])).toBe(0.5);
    expect(haltProbability([7.5, 7.5])).toBe(0.5);
    expect(haltProbability([-1e308, -1e308])).toBe(0.5);
    expect(haltProbability([1e308, 1e308])).toBe(0.5);
    expect(haltProbability([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY])).toBe(0.5);
    expect(haltProbability([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(0.5);
  });

  const huge: Array<[number, number, number]> = [
    [1e4, -1e4, 0],
    [-1e4, 1e4, 1],
    [1e4, 0, 0],
    [0, 1e4, 1],
    [1e308, -1e308, 0],
    [-1e308, 1e308, 1],
    [1e308, 0, 0],
    [0, 1e308, 1],
    [Number.POSITIVE_INFINITY, 0, 0],
    [0, Number.POSITIVE_INFINITY, 1],
    [Number.NEGATIVE_INFINITY, 0, 1],
    [0, Number.NEGATIVE_INFINITY, 0],
    [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 1],
    [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0],
    [1e308, Number.POSITIVE_INFINITY, 1],
  ];

  it.each(huge)("is stable for huge magnitudes: [%d, %d] → %d", (c, h, expected) => {
    const p = haltProbability([c, h]);
    expect(Number.isNaN(p)).toBe(false);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
    expect(p).toBeCloseTo(expected, 12);
  });

  it("keeps precision near the tails instead of rounding to 0 or 1 early", () => {
    // sigmoid(-30) ≈ 9.357622968839e-14; a naive 1 - 1/(1+e^-x) loses this entirely.
    expect(haltProbability([30, 0])).toBeCloseTo(9.357622968839e-14, 24);
    expect(haltProbability([30, 0])).toBeGreaterThan(0);
  });

  it("accepts a readonly number[] of length 2", () => {
    const logits: readonly number[] = [1, 2];
    expect(haltProbability(logits)).toBeCloseTo(softmaxHalt(1, 2), 12);
  });

  it.each([[[]], [[1]], [[1, 2, 3]]])("throws RangeError for length ≠ 2: %j", (logits) => {
    expect(() => haltProbability(logits)).toThrow(RangeError);
  });

  it("names the received length in the RangeError", () => {
    expect(() => haltProbability([1, 2, 3])).toThrow(/got 3/);
  });

  it("returns NaN when either logit is NaN", () => {
    expect(haltProbability([Number.NaN, 0])).toBeNaN();
    expect(haltProbability([0, Number.NaN])).toBeNaN();
    expect(haltProbability([Number.NaN, Number.NaN])).toBeNaN();
    expect(haltProbability([Number.NaN, Number.POSITIVE_INFINITY])).toBeNaN();
  });
});
