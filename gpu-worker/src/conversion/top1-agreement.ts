/**
 * How closely a converted model's next-token logits follow the float32 original's, over the same
 * positions: the measure the conversion targets are stated in (top-1 agreement), plus the numbers
 * that explain a shortfall (how far the logits moved, and whether the flips happen where the
 * original itself barely prefers its top token).
 */

import { argmax } from "../inference/sampling.js";

export interface LogitComparison {
  /** Share of positions whose converted argmax is the reference argmax: the headline figure. */
  top1Agreement: number;
  /**
   * Share of positions whose converted argmax is one of the reference's tokens within
   * `tieMargin` of the reference maximum. Equals top1Agreement when tieMargin is 0 and the
   * reference has no exact ties; always >= top1Agreement.
   */
  tieAwareAgreement: number;
  comparedPositions: number;
  /** Positions where at least two reference logits are within `tieMargin` of the maximum. */
  tiedPositions: number;
  /** Largest |reference - converted| over every logit (NaN when either side has a NaN). */
  maxAbsDiff: number;
  /** Mean over positions of the cosine similarity of the two logit rows. */
  meanCosine: number;
}

/** Cosine similarity of one row of two arrays (the logits of one position, the scores of one row). */
export function rowCosine(a: Float32Array, b: Float32Array, start: number, length: number): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = start; i < start + length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  // Two all-zero rows are the same row; one all-zero row against a non-zero one shares no direction.
  if (normA === 0 || normB === 0) return normA === normB ? 1 : 0;
  return dot / Math.sqrt(normA * normB);
}

/**
 * Compares `positions` rows of `vocab` logits, row-major in both arrays. Sums run in float64 so
 * that the figures do not depend on the order positions are visited in.
 */
export function compareLogits(
  reference: Float32Array,
  converted: Float32Array,
  positions: number,
  vocab: number,
  tieMargin = 0,
): LogitComparison {
  if (!Number.isInteger(positions) || positions < 0 || !Number.isInteger(vocab) || vocab < 1) {
    throw new RangeError(`positions (${positions}) and vocab (${vocab}) must be a count and a positive count`);
  }
  if (reference.length !== positions * vocab || converted.length !== positions * vocab) {
    throw new RangeError(
      `expected ${positions} x ${vocab} logits, got ${reference.length} (reference) and ${converted.length} (converted)`,
    );
  }
  if (!(tieMargin >= 0)) throw new RangeError(`tieMargin must be >= 0, got ${tieMargin}`);

  let agreements = 0;
  let tieAwareAgreements = 0;
  let tiedPositions = 0;
  let maxAbsDiff = 0;
  let cosineSum = 0;
  for (let position = 0; position < positions; position++) {
    const start = position * vocab;
    const best = argmax(reference, start, vocab);
    const chosen = argmax(converted, start, vocab);
    const threshold = (reference[start + best] ?? 0) - tieMargin;
    let nearMax = 0;
    for (let i = start; i < start + vocab; i++) {
      if ((reference[i] ?? Number.NEGATIVE_INFINITY) >= threshold) nearMax += 1;
      // Math.max keeps a NaN, so a converted model that produces NaN cannot look close.
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs((reference[i] ?? 0) - (converted[i] ?? 0)));
    }
    if (nearMax > 1) tiedPositions += 1;
    if (chosen === best) agreements += 1;
    if ((reference[start + chosen] ?? Number.NEGATIVE_INFINITY) >= threshold) tieAwareAgreements += 1;
    cosineSum += rowCosine(reference, converted, start, vocab);
  }
  // No positions: nothing disagrees, and nothing moved.
  const share = (count: number) => (positions === 0 ? 1 : count / positions);
  return {
    top1Agreement: share(agreements),
    tieAwareAgreement: share(tieAwareAgreements),
    comparedPositions: positions,
    tiedPositions,
    maxAbsDiff,
    meanCosine: positions === 0 ? 1 : cosineSum / positions,
  };
}
