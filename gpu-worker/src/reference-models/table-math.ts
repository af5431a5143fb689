/** A numeric helper the reference-model builders share when they count corpora. */

/** First index of the maximum in row `row` of a row-major table, matching a greedy decoder's tie-breaking. */
export function argmaxRow(table: Float64Array, row: number, width: number): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let column = 0; column < width; column++) {
    const value = table[row * width + column] ?? Number.NEGATIVE_INFINITY;
    if (value > bestValue) {
      bestValue = value;
      best = column;
    }
  }
  return best;
}
