import { ModelgateError, signRequest, type WorkerChoice } from "@modelgate/shared";

/** One place to try: a worker and the signed body for it (an `auto:` fallback may be another version). */
export interface ForwardAttempt {
  worker: WorkerChoice;
  path: string;
  body: string | Uint8Array<ArrayBuffer>;
  /** Default `application/json`; a tensor frame says so. */
  contentType?: string;
}

export interface ForwardOptions {
  /** Ordered: the chosen worker first, then its fallbacks. */
  attempts: readonly ForwardAttempt[];
  signingSecret: string;
  timeoutMs: number;
  requestId: string;
  /** Asked before each attempt (the circuit breaker's half-open probe); false skips the worker. */
  admit?: (worker: WorkerChoice) => Promise<boolean>;
  /** Told each attempt's outcome: false for a connect error, timeout or 5xx. */
  onOutcome?: (worker: WorkerChoice, succeeded: boolean) => void;
}

export interface ForwardOutcome {
  response: Response;
  worker: WorkerChoice;
  /** The attempt that answered (its index in `options.attempts`). */
  attemptIndex: number;
  attempts: number;
  /** Milliseconds spent waiting for the answering worker's first byte (not failed attempts). */
  upstreamMs: number;
}

/**
 * Sends a signed request to the first worker that answers. A connect failure or a 5xx (before
 * any byte reached the client) moves on to the next fallback; a 4xx is the caller's problem
 * and is returned as is. When every worker fails the caller gets a 502/504, never the
 * worker's internals.
 */
export async function forwardToWorker(options: ForwardOptions): Promise<ForwardOutcome> {
  let lastFailure: ModelgateError | undefined;
  let attempts = 0;
  for (const [attemptIndex, attempt] of options.attempts.entries()) {
    const { worker } = attempt;
    if (options.admit && !(await options.admit(worker))) continue;
    attempts++;
    const started = Date.now();
    const url = new URL(attempt.path, worker.url);
    const signature = await signRequest(options.signingSecret, {
      method: "POST",
      pathWithQuery: url.pathname + url.search,
      body: attempt.body,
      // Bound to this worker: replayed to another one, the signature does not verify.
      workerId: worker.workerId,
    });
    let response: Response;
    // The timeout covers the wait for the worker's answer to start, not a stream's whole length.
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new DOMException("timed out", "TimeoutError")), options.timeoutMs);
    try {
      response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": attempt.contentType ?? "application/json",
          "x-request-id": options.requestId,
          ...signature,
        },
        body: attempt.body,
        signal: connect.signal,
      });
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      lastFailure = timedOut
        ? new ModelgateError(
            "upstream_timeout",
            `Worker ${worker.workerId} did not answer within ${options.timeoutMs} ms.`,
          )
        : new ModelgateError("upstream_failed", `Worker ${worker.workerId} could not be reached.`);
      options.onOutcome?.(worker, false);
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (response.status >= 500) {
      options.onOutcome?.(worker, false);
      await discardBody(response);
      lastFailure = new ModelgateError("upstream_failed", `Worker ${worker.workerId} failed (${response.status}).`);
      continue;
    }
    if (response.status === 401) {
      // The worker refused our signature: a fleet misconfiguration, not the caller's fault.
      options.onOutcome?.(worker, false);
      await discardBody(response);
      lastFailure = new ModelgateError(
        "upstream_failed",
        `Worker ${worker.workerId} refused the edge's signature; check that MODELGATE_SIGNING_SECRET matches.`,
      );
      continue;
    }
    options.onOutcome?.(worker, true);
    return { response, worker, attemptIndex, attempts, upstreamMs: Date.now() - started };
  }
  throw lastFailure ?? new ModelgateError("no_worker_available", "No worker to forward to.");
}

/** Reads a failed attempt's body to the end so the connection is released cleanly. */
async function discardBody(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}
