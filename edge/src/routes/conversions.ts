import {
  ConversionJobSchema,
  ConversionJobStatusSchema,
  ConversionRequestSchema,
  ModelgateError,
  ModelNameSchema,
  validationError,
} from "@modelgate/shared";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { conversionQueue } from "../conversions/conversion-queue-object.js";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { modelNameParam, parseQuery, requireLiveModel, versionNumberParam } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";

export const ConversionListQuerySchema = z.strictObject({
  model: ModelNameSchema.optional(),
  status: ConversionJobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** The `:id` path segment of a conversion job route, checked before any lookup. */
export function conversionIdParam(c: Context<AppEnv>): string {
  const parsed = ConversionJobSchema.shape.id.safeParse(c.req.param("id"));
  if (!parsed.success) throw validationError(parsed.error, "conversion job id", "id");
  return parsed.data;
}

/**
 * Conversion jobs as people see them: request a version's conversion (queued for a GPU worker),
 * follow it, list and cancel. The worker's side of the queue is in conversion-worker.ts.
 */
export const conversionRoutes = new Hono<AppEnv>()
  .post("/v1/models/:name/versions/:version/conversions", requireScope("models:write"), async (c) => {
    const name = modelNameParam(c);
    const number = versionNumberParam(c);
    const request = await readJsonBody(c, ConversionRequestSchema, "conversion request");
    const record = await requireLiveModel(c.env, name);
    if (!record.versions.some((version) => version.version === number)) {
      throw new ModelgateError("not_found", `Model ${name} has no version ${number}.`);
    }
    const job = unwrapWire(await conversionQueue(c.env).enqueue(name, number, request, c.get("principal").id));
    c.header("location", `/v1/conversions/${job.id}`);
    return c.json(job, 202);
  })
  .get("/v1/conversions", requireScope("models:read"), async (c) => {
    const filter = parseQuery(c, ConversionListQuerySchema, "conversion list query");
    return c.json({ jobs: await conversionQueue(c.env).list(filter) });
  })
  .get("/v1/conversions/:id", requireScope("models:read"), async (c) => {
    const id = conversionIdParam(c);
    return c.json(unwrapWire(await conversionQueue(c.env).get(id)));
  })
  .post("/v1/conversions/:id/cancel", requireScope("models:write"), async (c) => {
    const id = conversionIdParam(c);
    return c.json(unwrapWire(await conversionQueue(c.env).cancel(id, c.get("principal").id)));
  });
