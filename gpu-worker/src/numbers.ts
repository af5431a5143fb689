/** Rounds to `digits` decimals: reported figures read cleanly and registered metrics stay reproducible. */
export function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
