/**
 * Asks the edge for a leased job of one kind (conversion, evaluation), runs it, and asks again:
 * at once after a job, every `pollMs` when idle. One job at a time; `stop()` stops asking and
 * waits for the job in hand, which the kind abandons (its lease then runs out and another
 * worker takes it over).
 */
import type { Logger } from "../logger.js";
import type { EdgeCallOutcome } from "./edge-job-calls.js";

export interface JobPollerOptions<Claimed, End> {
  /** "conversion", "evaluation": how logs name the kind. */
  kind: string;
  pollMs: number;
  logger: Logger;
  claim: () => Promise<EdgeCallOutcome<Claimed | undefined>>;
  run: (claimed: Claimed) => Promise<End>;
}

export class JobPoller<Claimed, End> {
  readonly #options: JobPollerOptions<Claimed, End>;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #stopped = false;
  /** Resolves when the job in hand (if any) has ended; `stop()` waits for it. */
  #current: Promise<End> | undefined;
  /** The claim-and-run in progress, from before its claim is answered (what a drain waits for). */
  #running: Promise<End | undefined> | undefined;

  constructor(options: JobPollerOptions<Claimed, End>) {
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops asking; `abandon` ends the job in hand (without failing it), then its end is awaited. */
  async stop(abandon: () => void): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    abandon();
    await this.#current?.catch(() => undefined);
  }

  /**
   * A drain: claims nothing more and lets the job in hand run to its end (complete or fail),
   * unlike `stop()`, which abandons it to its lease.
   */
  async finishAndStop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  /** Jobs this worker holds a lease on now (0 or 1), for heartbeats and drains. */
  get activeJobs(): number {
    return this.#current === undefined ? 0 : 1;
  }

  /** Claims and runs one job if one is queued; resolves with how it ended (undefined: none). */
  runOnce(): Promise<End | undefined> {
    if (this.#busy) return Promise.resolve(undefined);
    const running = this.#claimAndRun();
    this.#running = running;
    return running;
  }

  async #claimAndRun(): Promise<End | undefined> {
    this.#busy = true;
    try {
      const claimed = await this.#options.claim();
      if (!claimed.ok) {
        this.#options.logger.warn(`claiming a ${this.#options.kind} job failed`, {
          status: claimed.status,
          reason: claimed.message,
        });
        return undefined;
      }
      if (claimed.value === undefined) return undefined;
      this.#current = this.#options.run(claimed.value);
      return await this.#current;
    } finally {
      this.#busy = false;
      this.#current = undefined;
      this.#running = undefined;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      const ended = await this.runOnce().catch((error: unknown) => {
        this.#options.logger.error(`${this.#options.kind} runner failed`, { error: String(error) });
        return undefined;
      });
      // After a job, look for the next one at once; when idle, wait an interval.
      this.#schedule(ended === undefined ? this.#options.pollMs : 0);
    }, delayMs);
    this.#timer.unref();
  }
}
