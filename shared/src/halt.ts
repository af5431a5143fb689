/**
 * Seed 000: halt_logits are [continue, halt]; the halt probability is softmax(z)[halt],
 * which equals sigmoid(z_halt − z_continue). Computed without overflow for any magnitude.
 */
export function haltProbability(haltLogits: readonly [number, number] | readonly number[]): number {
  const zContinue = haltLogits[0];
  const zHalt = haltLogits[1];
  if (zContinue === undefined || zHalt === undefined || haltLogits.length !== 2) {
    throw new RangeError(`halt_logits must have exactly two values [continue, halt], got ${haltLogits.length}`);
  }
  if (Number.isNaN(zContinue) || Number.isNaN(zHalt)) return Number.NaN;
  if (zContinue === zHalt) return 0.5;
  const x = zHalt - zContinue;
  if (x === Number.POSITIVE_INFINITY) return 1;
  if (x === Number.NEGATIVE_INFINITY) return 0;
  // Branch on the sign so that exp() only ever sees a non-positive argument.
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
