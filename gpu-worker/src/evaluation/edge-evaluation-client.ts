/**
 * The worker's side of the edge's evaluation queue (`/internal/evaluations/*`, worker token):
 * claim a job, report each finished results part (which renews the lease), complete or fail it.
 */
import {
  type ClaimedEvaluation,
  ClaimedEvaluationSchema,
  type CompleteEvaluationRequest,
  type EvaluationJob,
  EvaluationJobSchema,
  type EvaluationProgressRequest,
  type FailEvaluationRequest,
} from "@modelgate/shared";
import { type EdgeCallOutcome, type EdgeJobCallOptions, EdgeJobCalls } from "../jobs/edge-job-calls.js";

const parseJob = (body: unknown): EvaluationJob => EvaluationJobSchema.parse(body);

export class EdgeEvaluationClient {
  readonly #calls: EdgeJobCalls;

  constructor(options: EdgeJobCallOptions) {
    this.#calls = new EdgeJobCalls(options, "/internal/evaluations");
  }

  /** The oldest queued job, leased to this worker; `undefined` when nothing waits. */
  claim(workerId: string): Promise<EdgeCallOutcome<ClaimedEvaluation | undefined>> {
    return this.#calls.post("/claim", { worker_id: workerId }, (body) =>
      body === undefined ? undefined : ClaimedEvaluationSchema.parse(body),
    );
  }

  /** Renews the lease (recording `chunk` when given); the job comes back, `cancelled` when cancelled meanwhile. */
  progress(jobId: string, request: EvaluationProgressRequest): Promise<EdgeCallOutcome<EvaluationJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/progress`, request, parseJob);
  }

  complete(jobId: string, request: CompleteEvaluationRequest): Promise<EdgeCallOutcome<EvaluationJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/complete`, request, parseJob);
  }

  fail(jobId: string, request: FailEvaluationRequest): Promise<EdgeCallOutcome<EvaluationJob>> {
    return this.#calls.post(`/${encodeURIComponent(jobId)}/fail`, request, parseJob);
  }
}
