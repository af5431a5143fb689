import { z } from "zod";
import { problemResponses, type RouteSpec } from "./route-spec.js";

/**
 * What the route specs of every leased-job queue (conversions, evaluations) describe the same
 * way: the `{id}` path parameter, the 404 and the "not the lease holder" 409, and the worker's
 * report routes, which answer the job as now stored.
 */
export function leasedJobRouteParts(options: {
  tag: string;
  /** "conversion job", "evaluation job". */
  noun: string;
  idSchema: z.ZodString;
  idExample: string;
  jobComponent: z.ZodType;
}) {
  const jobIdParams = z.strictObject({ id: options.idSchema.meta({ examples: [options.idExample] }) });
  const noJob = { 404: `No ${options.noun} with this id.` };
  const notHolder = {
    409: "This worker does not hold the job's lease: it expired and moved to another worker, or the job ended.",
  };
  const workerRoute = (path: string, summary: string, description: string, body: z.ZodType): RouteSpec => ({
    method: "POST",
    path,
    scope: "worker",
    tag: options.tag,
    summary,
    description,
    pathParams: jobIdParams,
    body,
    responses: {
      200: { description: "The job as now stored.", schema: options.jobComponent },
      ...problemResponses([404, 409], { ...noJob, ...notHolder }),
    },
  });
  return { jobIdParams, noJob, notHolder, workerRoute };
}
