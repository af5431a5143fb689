/** Recent decode speed: tokens generated over inference time, for generations finished lately. */
export class ThroughputWindow {
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #entries: Array<{ at: number; tokens: number; ms: number }> = [];

  constructor(windowMs = 60_000, now: () => number = Date.now) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  record(tokens: number, inferenceMs: number): void {
    this.#entries.push({ at: this.#now(), tokens, ms: inferenceMs });
    this.#prune();
  }

  tokensPerSecond(): number {
    this.#prune();
    let tokens = 0;
    let ms = 0;
    for (const entry of this.#entries) {
      tokens += entry.tokens;
      ms += entry.ms;
    }
    return ms > 0 ? Math.round((tokens / (ms / 1000)) * 100) / 100 : 0;
  }

  #prune(): void {
    const cutoff = this.#now() - this.#windowMs;
    while (this.#entries.length > 0 && (this.#entries[0]?.at ?? 0) < cutoff) this.#entries.shift();
  }
}
