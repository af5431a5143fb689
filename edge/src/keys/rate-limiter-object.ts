import { DurableObject } from "cloudflare:workers";
import type { EdgeBindings } from "../env.js";

export interface RateDecision {
  allowed: boolean;
  /** Whole seconds until a request would be allowed again (0 when allowed). */
  retryAfterSeconds: number;
  remaining: number;
}

/**
 * One instance per API key (`idFromName(keyId)`), so the limit holds across every isolate: a
 * token bucket refilled at `rpm` per minute with a burst of `rpm`. In memory only: after an
 * eviction the bucket starts full again, which errs on the side of letting callers through.
 */
export class RateLimiter extends DurableObject<EdgeBindings> {
  private tokens = Number.NaN;
  private updatedAt = 0;

  async take(rpm: number, now: number = Date.now()): Promise<RateDecision> {
    const perMs = rpm / 60_000;
    if (Number.isNaN(this.tokens)) {
      this.tokens = rpm;
      this.updatedAt = now;
    }
    this.tokens = Math.min(rpm, this.tokens + Math.max(0, now - this.updatedAt) * perMs);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0, remaining: Math.floor(this.tokens) };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / perMs / 1000)),
      remaining: 0,
    };
  }
}
