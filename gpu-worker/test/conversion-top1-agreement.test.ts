import { describe, expect, it } from "vitest";
import { compareLogits } from "../src/conversion/top1-agreement.js";

const rows = (...values: number[][]) => Float32Array.from(values.flat());

describe("compareLogits", () => {
  it("counts top-1 agreement, and near-ties only with a margin", () => {
    // Position 0: clear winner kept. 1: the converted model flips a 0.01 near-tie. 2: it flips a 1.0 gap.
    const reference = rows([3, 1, 0], [2, 1.99, 0], [0, 1, 2]);
    const converted = rows([3, 1, 0], [1.98, 2, 0], [0, 2.5, 2]);
    const exact = compareLogits(reference, converted, 3, 3);
    expect(exact).toMatchObject({ comparedPositions: 3, tiedPositions: 0 });
    expect(exact.top1Agreement).toBeCloseTo(1 / 3, 12);
    expect(exact.tieAwareAgreement).toBeCloseTo(1 / 3, 12);
    const tolerant = compareLogits(reference, converted, 3, 3, 0.05);
    expect(tolerant.top1Agreement).toBeCloseTo(1 / 3, 12);
    expect(tolerant.tieAwareAgreement).toBeCloseTo(2 / 3, 12);
    expect(tolerant.tiedPositions).toBe(1);
    expect(tolerant.maxAbsDiff).toBeCloseTo(1.5, 6);
  });

  it("treats exact ties as ties even with no margin, and argmax takes the first", () => {
    const reference = rows([1, 1, 0]);
    expect(compareLogits(reference, rows([1, 1, 0]), 1, 3)).toMatchObject({ top1Agreement: 1, tiedPositions: 1 });
    const flipped = compareLogits(reference, rows([1, 1.001, 0]), 1, 3);
    expect(flipped.top1Agreement).toBe(0);
    expect(flipped.tieAwareAgreement).toBe(1);
  });

  it("reports the mean cosine of the rows", () => {
    const same = compareLogits(rows([1, 2], [3, 4]), rows([2, 4], [3, 4]), 2, 2);
    expect(same.meanCosine).toBeCloseTo(1, 12);
    const orthogonal = compareLogits(rows([1, 0]), rows([0, 1]), 1, 2);
    expect(orthogonal.meanCosine).toBeCloseTo(0, 12);
    expect(compareLogits(rows([0, 0]), rows([0, 0]), 1, 2).meanCosine).toBe(1);
    expect(compareLogits(rows([0, 0]), rows([1, 0]), 1, 2).meanCosine).toBe(0);
  });

  it("lets a NaN show in maxAbsDiff instead of hiding it", () => {
    expect(compareLogits(rows([1, 0]), rows([Number.NaN, 0]), 1, 2).maxAbsDiff).toBeNaN();
  });

  it("compares nothing as full agreement and refuses mismatched or invalid sizes", () => {
    expect(compareLogits(new Float32Array(), new Float32Array(), 0, 4)).toEqual({
      top1Agreement: 1,
      tieAwareAgreement: 1,
      comparedPositions: 0,
      tiedPositions: 0,
      maxAbsDiff: 0,
      meanCosine: 1,
    });
    expect(() => compareLogits(rows([1, 2]), rows([1, 2, 3]), 1, 2)).toThrow(RangeError);
    expect(() => compareLogits(rows([1, 2]), rows([1, 2]), 1, 0)).toThrow(RangeError);
    expect(() => compareLogits(rows([1, 2]), rows([1, 2]), 1, 2, -0.1)).toThrow(RangeError);
    expect(() => compareLogits(rows([1, 2]), rows([1, 2]), 1, 2, Number.NaN)).toThrow(RangeError);
  });
});
