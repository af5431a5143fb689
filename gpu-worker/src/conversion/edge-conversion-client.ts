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
import { type EdgeCallOutcome, type EdgeJobCallOptions, EdgeJobCalls } from "../jobs/edge-job-calls.js";

export type { EdgeCallOutcome } from "../jobs/edge-job-calls.js";
export type EdgeConversionClientOptions = EdgeJobCallOptions;

const JobEnvelopeSchema = z.union([z.strictObject({ job: ConversionJobSchema }), ConversionJobSchema]);

export class EdgeConversionClient {
  readonly #calls: EdgeJobCalls;

  constructor(options: EdgeConversionClientOptions) {
    this.#calls = new EdgeJobCalls(options, "/internal/conversions");
  }

  /** The oldest queued job, leased to this worker; `undefined` when nothing waits. */
  claim(workerId: string): Promise<EdgeCallOutcome<ClaimedConversion | undefined>> {
    return this.#calls.post("/claim", { worker_id: workerId }, (body) =>
      body === undefined ? undefined : ClaimedConversionSchema.parse(body),
    );
  }

  /** Reports progress and renews the lease; the job comes back (status `cancelled` when cancelled meanwhile). */
  progress(jobId: string, request: ConversionProgressRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/progress`, request, parseJob);
  }

  complete(jobId: string, request: CompleteConversionRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/complete`, request, parseJob);
  }

  fail(jobId: string, request: FailConversionRequest): Promise<EdgeCallOutcome<ConversionJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/fail`, request, parseJob);
  }
}

function parseJob(body: unknown): ConversionJob {
  const parsed = JobEnvelopeSchema.parse(body);
  return "job" in parsed ? parsed.job : parsed;
}
