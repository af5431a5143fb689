import {
  ClaimEvaluationRequestSchema,
  CompleteEvaluationRequestSchema,
  EvaluationProgressRequestSchema,
  FailEvaluationRequestSchema,
  ModelgateError,
} from "@modelgate/shared";
import { Hono } from "hono";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { AppEnv } from "../env.js";
import { checkEvaluationFiles, evaluationLinks } from "../evaluations/evaluation-outcome.js";
import { evaluationQueue } from "../evaluations/evaluation-queue-object.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { authorizeWorkerCall } from "../pool/worker-authority.js";
import { writeRegistry } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";
import { evaluationIdParam } from "./evaluations.js";

/**
 * The GPU worker's side of the evaluation queue (an enrolled worker's own credential, for its own
 * id only; or the legacy shared token for ids nobody enrolled): claim the oldest job,
 * report each finished results part (which renews the lease), then complete or fail it. Only
 * the lease holder may report; a complete is checked against object storage — the report must
 * be what the results file gives, row for row — before any version links it.
 */
export const evaluationWorkerRoutes = new Hono<AppEnv>()
  .post("/internal/evaluations/claim", requireScope("worker"), async (c) => {
    const { worker_id } = await readJsonBody(c, ClaimEvaluationRequestSchema, "claim");
    // A cordoned or draining worker finishes its leases but is handed no new job.
    if (!(await authorizeWorkerCall(c, worker_id)).takesNewWork) return c.body(null, 204);
    const claimed = await evaluationQueue(c.env).claim(worker_id);
    return claimed ? c.json(claimed) : c.body(null, 204);
  })
  .post("/internal/evaluations/:id/progress", requireScope("worker"), async (c) => {
    const id = evaluationIdParam(c);
    const report = await readJsonBody(c, EvaluationProgressRequestSchema, "progress report");
    await authorizeWorkerCall(c, report.worker_id);
    return c.json(unwrapWire(await evaluationQueue(c.env).progress(id, report)));
  })
  .post("/internal/evaluations/:id/complete", requireScope("worker"), async (c) => {
    const id = evaluationIdParam(c);
    const request = await readJsonBody(c, CompleteEvaluationRequestSchema, "evaluation result");
    await authorizeWorkerCall(c, request.worker_id);
    const queue = evaluationQueue(c.env);
    // Only the lease holder with every part recorded gets past here; the lease covers the checks below.
    const job = unwrapWire(await queue.confirmLease(id, request.worker_id, "succeeded"));
    const report = await checkEvaluationFiles(artifactStoreFromBindings(c.env), job, request);
    for (const { model, version, link } of evaluationLinks(job, request, report)) {
      await writeRegistry(c, "record_evaluation", (registry) =>
        registry.recordEvaluation(model, version, link, c.get("principal").id),
      ).catch((error: unknown) => {
        // A version deleted while it was evaluated keeps nothing; the job and its files stay.
        if (!(error instanceof ModelgateError && error.code === "not_found")) throw error;
      });
    }
    const result = { report: request.report, results: request.results, targets: report.targets };
    return c.json(unwrapWire(await queue.complete(id, request.worker_id, result)));
  })
  .post("/internal/evaluations/:id/fail", requireScope("worker"), async (c) => {
    const id = evaluationIdParam(c);
    const failure = await readJsonBody(c, FailEvaluationRequestSchema, "evaluation failure");
    await authorizeWorkerCall(c, failure.worker_id);
    return c.json(unwrapWire(await evaluationQueue(c.env).fail(id, failure)));
  });
