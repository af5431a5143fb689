/** An open-loop load generator: requests leave on a fixed schedule, whatever earlier ones are doing. */
import { sleep } from "./bench-stats.js";

export interface OpenLoopRun<T> {
  results: T[];
  /** How late each request left against its schedule (the load generator's own lag). */
  lagMs: number[];
}

/**
 * Calls `send` every 1000 / rate ms for `durationMs`, on a schedule fixed at the start, so a slow
 * answer does not hold back the next request (no coordinated omission). `send` times its own
 * request and must not reject (turn a failure into a value).
 */
export async function openLoop<T>(
  ratePerSecond: number,
  durationMs: number,
  send: () => Promise<T>,
): Promise<OpenLoopRun<T>> {
  const intervalMs = 1000 / ratePerSecond;
  const count = Math.round(durationMs / intervalMs);
  const started = performance.now();
  const pending: Promise<T>[] = [];
  const lagMs: number[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0.5) await sleep(wait);
    lagMs.push(Math.max(0, performance.now() - due));
    pending.push(send());
  }
  return { results: await Promise.all(pending), lagMs };
}
