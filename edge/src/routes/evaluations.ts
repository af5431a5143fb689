import {
  EvaluationJobIdSchema,
  EvaluationJobStatusSchema,
  EvaluationReportSchema,
  EvaluationRequestSchema,
  ModelgateError,
  validationError,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { AppEnv } from "../env.js";
import { readCheckedFile } from "../evaluations/evaluation-files.js";
import { evaluationQueue } from "../evaluations/evaluation-queue-object.js";
import { resolveEvaluation } from "../evaluations/evaluation-submission.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { parseQuery } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";

export const EvaluationListQuerySchema = z.strictObject({
  status: EvaluationJobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The `:id` path segment of an evaluation route, checked before any lookup. */
export function evaluationIdParam(c: Context<AppEnv>): string {
  const parsed = EvaluationJobIdSchema.safeParse(c.req.param("id"));
  if (!parsed.success) throw validationError(parsed.error, "evaluation id", "id");
  return parsed.data;
}

/** A succeeded job's result; anything else has no files yet (409 saying where it stands). */
async function finishedResult(c: Context<AppEnv>) {
  const id = evaluationIdParam(c);
  const job = unwrapWire(await evaluationQueue(c.env).get(id));
  if (job.status !== "succeeded" || job.result === undefined) {
    throw new ModelgateError(
      "conflict",
      `Evaluation ${id} is ${job.status} (${job.completed} of ${job.total} results); its report exists once it succeeded.`,
    );
  }
  return job.result;
}

/**
 * Evaluation jobs as people see them: submit an uploaded JSONL dataset and targets (queued for
 * a GPU worker), follow it, read its report and results, list and cancel. The worker's side of
 * the queue is in evaluation-worker.ts.
 */
export const evaluationRoutes = new Hono<AppEnv>()
  .post("/v1/evaluations", requireScope("models:write"), async (c) => {
    const request = await readJsonBody(c, EvaluationRequestSchema, "evaluation request");
    const resolved = await resolveEvaluation(c, request);
    const job = await evaluationQueue(c.env).enqueue(request, resolved, c.get("principal").id);
    c.header("location", `/v1/evaluations/${job.id}`);
    return c.json(job, 202);
  })
  .get("/v1/evaluations", requireScope("models:read"), async (c) => {
    const filter = parseQuery(c, EvaluationListQuerySchema, "evaluation list query");
    return c.json({ jobs: await evaluationQueue(c.env).list(filter) });
  })
  .get("/v1/evaluations/:id", requireScope("models:read"), async (c) => {
    return c.json(unwrapWire(await evaluationQueue(c.env).get(evaluationIdParam(c))));
  })
  .get("/v1/evaluations/:id/report", requireScope("models:read"), async (c) => {
    const result = await finishedResult(c);
    const bytes = await readCheckedFile(artifactStoreFromBindings(c.env), result.report, "report");
    if (!bytes.ok) throw bytes.error;
    return c.json(EvaluationReportSchema.parse(JSON.parse(new TextDecoder().decode(bytes.value))));
  })
  .get("/v1/evaluations/:id/results", requireScope("models:read"), async (c) => {
    const result = await finishedResult(c);
    const bytes = await readCheckedFile(artifactStoreFromBindings(c.env), result.results, "results");
    if (!bytes.ok) throw bytes.error;
    return c.body(bytes.value, 200, { "content-type": "application/x-ndjson" });
  })
  .post("/v1/evaluations/:id/cancel", requireScope("models:write"), async (c) => {
    const id = evaluationIdParam(c);
    return c.json(unwrapWire(await evaluationQueue(c.env).cancel(id, c.get("principal").id)));
  });
