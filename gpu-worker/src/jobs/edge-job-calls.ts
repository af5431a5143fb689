/**
 * One call to a worker-token route of the edge's leased-job queues (`/internal/conversions/*`,
 * `/internal/evaluations/*`). Every answer is a value: the job runner decides what a refused
 * renewal or an unreachable edge means for its job.
 */

export type EdgeCallOutcome<T> =
  | { ok: true; value: T }
  /** `status` 0: the edge was not reached (network error or timeout). */
  | { ok: false; status: number; message: string };

export interface EdgeJobCallOptions {
  edgeUrl: string;
  workerToken: string;
  fetch?: typeof fetch;
  /** Per call; the edge answers these in milliseconds, registry writes included. */
  timeoutMs?: number;
}

/** POSTs JSON under `base` (e.g. `/internal/evaluations`) with the worker token; `parse` reads a 2xx body. */
export class EdgeJobCalls {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: EdgeJobCallOptions, base: string) {
    this.#base = `${options.edgeUrl.replace(/\/+$/, "")}${base}`;
    this.#token = options.workerToken;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async post<T>(path: string, body: unknown, parse: (body: unknown) => T): Promise<EdgeCallOutcome<T>> {
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      return { ok: false, status: 0, message: error instanceof Error ? error.message : String(error) };
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) return { ok: false, status: response.status, message: problemDetail(text, response.status) };
    try {
      return { ok: true, value: parse(text === "" ? undefined : JSON.parse(text)) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, status: response.status, message: `unexpected answer from the edge: ${message}` };
    }
  }
}

/** A problem+json body's detail (or title), so logs and job errors say what the edge said. */
function problemDetail(text: string, status: number): string {
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === "string") return problem.detail;
    if (typeof problem.title === "string") return problem.title;
  } catch {
    // Not JSON: fall through to the status.
  }
  return `the edge answered ${status}`;
}
