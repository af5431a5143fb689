/** Small statistics and formatting helpers shared by the benchmark sections. */

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

export const fmt = (n: number, digits = 1): string => n.toFixed(digits);

/** Milliseconds `fn` took, and what it returned. */
export async function timeIt<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** "✔" when a target is met, "✘" otherwise. */
export const mark = (met: boolean): string => (met ? "✔" : "✘");

/** A Markdown table row: what was measured, modelgate's figure, the peer's figure or the target. */
export type BenchRow = [measurement: string, modelgate: string, peerOrTarget: string];
