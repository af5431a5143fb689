/**
 * Seed 002's rollback plan at runtime: an admin switches benchmark scoring, multi-category
 * routing or GPU awareness off (or on again) and the next routing decision follows, with no
 * redeploy. The flags live in the worker-pool Durable Object beside the fleet routing reads.
 */
import { SelectionFlagsPatchSchema } from "@modelgate/shared";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";

export const selectionFlagRoutes = new Hono<AppEnv>()
  .get("/v1/admin/selection-flags", requireScope("admin"), async (c) =>
    c.json(await workerPoolStub(c.env.WORKER_POOL).getSelectionFlags()),
  )
  .patch("/v1/admin/selection-flags", requireScope("admin"), async (c) => {
    const patch = await readJsonBody(c, SelectionFlagsPatchSchema, "selection flags");
    return c.json(await workerPoolStub(c.env.WORKER_POOL).setSelectionFlags(patch));
  });
