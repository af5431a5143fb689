import {
  ClaimConversionRequestSchema,
  type ClaimedConversion,
  CompleteConversionRequestSchema,
  ConversionProgressRequestSchema,
  FailConversionRequestSchema,
} from "@modelgate/shared";
import { Hono } from "hono";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import {
  checkReportMatchesJob,
  referencedFiles,
  summarizeConversion,
  verifyReferencedFiles,
} from "../conversions/conversion-files.js";
import { conversionQueue } from "../conversions/conversion-queue-object.js";
import type { AppEnv } from "../env.js";
import { readJsonBody } from "../http/json-body.js";
import { requireScope } from "../middleware/authenticate.js";
import { authorizeWorkerCall } from "../pool/worker-authority.js";
import { readLiveModel, writeRegistry } from "../registry/registry-access.js";
import { unwrapWire } from "../registry/wire-result.js";
import { conversionIdParam } from "./conversions.js";

/** Jobs whose version vanished while they waited, failed and skipped in one claim before giving up. */
const MAX_SOURCELESS_CLAIMS = 5;

/**
 * The GPU worker's side of the conversion queue (a worker's own credential, for its own id
 * only; or the legacy shared token for ids nobody enrolled): claim the oldest job,
 * report progress (which renews the lease), then complete or fail it. Only the worker holding
 * the lease may report; a complete is checked against object storage before the registry
 * records it, so a version never points at files that are not there.
 */
export const conversionWorkerRoutes = new Hono<AppEnv>()
  .post("/internal/conversions/claim", requireScope("worker"), async (c) => {
    const { worker_id } = await readJsonBody(c, ClaimConversionRequestSchema, "claim");
    // A cordoned or draining worker finishes its leases but is handed no new job.
    if (!(await authorizeWorkerCall(c, worker_id)).takesNewWork) return c.body(null, 204);
    const queue = conversionQueue(c.env);
    for (let attempt = 0; attempt < MAX_SOURCELESS_CLAIMS; attempt++) {
      const claimed = await queue.claim(worker_id);
      if (!claimed) break;
      const { job } = claimed;
      // The worker converts the version document exactly as inference forwards it (`target`).
      const source = (await readLiveModel(c.env, job.model))?.versions.find((v) => v.version === job.version);
      if (source) {
        const answer: ClaimedConversion = { job, source, lease_ms: claimed.leaseMs };
        return c.json(answer);
      }
      await queue.fail(job.id, {
        worker_id,
        error: { step: "download", message: `${job.model}@${job.version} was deleted before it was converted` },
      });
    }
    return c.body(null, 204);
  })
  .post("/internal/conversions/:id/progress", requireScope("worker"), async (c) => {
    const id = conversionIdParam(c);
    const report = await readJsonBody(c, ConversionProgressRequestSchema, "progress report");
    await authorizeWorkerCall(c, report.worker_id);
    return c.json(unwrapWire(await conversionQueue(c.env).progress(id, report)));
  })
  .post("/internal/conversions/:id/complete", requireScope("worker"), async (c) => {
    const id = conversionIdParam(c);
    const report = await readJsonBody(c, CompleteConversionRequestSchema, "conversion result");
    await authorizeWorkerCall(c, report.worker_id);
    const queue = conversionQueue(c.env);
    // Only the lease holder gets past here (or, after a lost answer, the worker that completed it);
    // the lease is renewed to cover the checks below.
    const job = unwrapWire(await queue.confirmLease(id, report.worker_id, "succeeded"));
    checkReportMatchesJob(job, report.source_verification, report.formats);
    // A missing or different file is a 422 with the job still running: the worker may re-upload or fail it.
    const files = referencedFiles(report.source_verification, report.formats);
    await verifyReferencedFiles(artifactStoreFromBindings(c.env), files);
    await writeRegistry(c, "record_conversion", (registry) =>
      registry.recordConversion(
        job.model,
        job.version,
        { job_id: id, source_verification: report.source_verification, formats: report.formats },
        c.get("principal").id,
      ),
    );
    return c.json(unwrapWire(await queue.complete(id, report.worker_id, summarizeConversion(report))));
  })
  .post("/internal/conversions/:id/fail", requireScope("worker"), async (c) => {
    const id = conversionIdParam(c);
    const failure = await readJsonBody(c, FailConversionRequestSchema, "conversion failure");
    await authorizeWorkerCall(c, failure.worker_id);
    const queue = conversionQueue(c.env);
    const job = unwrapWire(await queue.confirmLease(id, failure.worker_id));
    const verification = failure.source_verification;
    if (verification) {
      // A failed must-pass gate is kept on the version (seed 001), so nobody promotes it unknowingly.
      checkReportMatchesJob(job, verification);
      await verifyReferencedFiles(artifactStoreFromBindings(c.env), referencedFiles(verification));
      await writeRegistry(c, "record_verification", (registry) =>
        registry.recordSourceVerification(
          job.model,
          job.version,
          { job_id: id, source_verification: verification },
          c.get("principal").id,
        ),
      );
    }
    return c.json(unwrapWire(await queue.fail(id, failure)));
  });
