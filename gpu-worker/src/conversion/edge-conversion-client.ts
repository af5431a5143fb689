/**
 * The worker's side of the edge's conversion queue (`/internal/conversions/*`, worker token):
 * claim a job, report progress (which renews the lease), complete or fail it. Every answer is a
 * value: the runner decides what a refused renewal or an unreachable edge means for the job.
 */
import {
  type ClaimedConversion,
  ClaimedConversionSchema,
  type CompleteConversionRequest,
  type ConversionJob,
  ConversionJobSchema,
  type ConversionProgressRequest,
  type FailConversionRequest,
} from "@modelgate/shared";
import { z } from "zod";

export type EdgeCallOutcome<T> =
  | { ok: true; value: T }
  /** `status` 0: the edge was not reached (network error or timeout). */
  | { ok: false; status: number; message: string };

export interface EdgeConversionClientOptions {
  edgeUrl: string;
  workerToken: string;
  fetch?: typeof fetch;
  /** Per call; the edge answers these in milliseconds, registry writes included. */
  timeoutMs?: number;
}

const JobEnvelopeSchema = z.union([z.strictObject({ job: ConversionJobSchema }), ConversionJobSchema]);

export class EdgeConversionClient {
  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(options: EdgeConversionClientOptions) {
    this.#base = `${options.edgeUrl.replace(/\/+$/, "")}/internal/conversions`;
    this.#token = options.workerToken;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** The oldest queued job, leased to this worker; `undefined` when nothing waits. */
  claim(workerId: string): Promise<EdgeCallOutcome<ClaimedConversion | undefined>> {
    return this.#post("/claim", { worker_id: workerId }, (body) =>
      body === undefined ? undefined : ClaimedConversionSchema.parse(body),
    );
  }

  /** Reports progress and renews the lease; the job comes back (status `cancelled` when cancelled meanwhile). */
  progress(jobId: string, request: ConversionProgressRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#post(`/${encodeURIComponent(jobId)}/progress`, request, parseJob);
  }

  complete(jobId: string, request: CompleteConversionRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#post(`/${encodeURIComponent(jobId)}/complete`, request, parseJob);
  }

  fail(jobId: string, request: FailConversionRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#post(`/${encodeURIComponent(jobId)}/fail`, request, parseJob);
  }

  async #post<T>(path: string, body: unknown, parse: (body: unknown) => T): Promise<EdgeCallOutcome<T>> {
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

function parseJob(body: unknown): ConversionJob {
  const parsed = JobEnvelopeSchema.parse(body);
  return "job" in parsed ? parsed.job : parsed;
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
