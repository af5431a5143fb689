import { env } from "cloudflare:test";
import type { ClaimedConversion, ConversionJob } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { conversionQueue } from "../src/conversions/conversion-queue-object.js";
import {
  claim,
  completeReport,
  getJob,
  registerModel,
  requestConversion,
  workerCall,
} from "./support/conversion-reports.js";
import { expectProblem, resetEdge } from "./support/requests.js";

afterEach(() => resetEdge());

/** The tests' lease (edge/vitest.config.ts sets MODELGATE_CONVERSION_LEASE_MS to 1000). */
const LEASE_MS = 1000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

describe("conversion leases", () => {
  it("hands a job whose worker stopped renewing to the next worker, with an error entry", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    expect((await claim("worker-a"))?.job.id).toBe(job.id);
    await sleep(LEASE_MS + 300);
    const second = await claim("worker-b");
    expect(second?.job).toMatchObject({ id: job.id, status: "running", worker_id: "worker-b", attempts: 2 });
    expect(second?.job.errors).toEqual([
      expect.objectContaining({ message: "lease expired: worker worker-a stopped renewing", worker_id: "worker-a" }),
    ]);
    // Worker A comes back: its lease moved on, so its reports and result are refused.
    const stale = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/progress`, {
        worker_id: "worker-a",
        step: "convert",
        progress: 0.9,
      }),
      409,
    );
    expect(stale.detail).toContain("moved to worker worker-b");
    await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/complete`, await completeReport(job, "worker-a")),
      409,
    );
    expect(
      (await workerCall(`/internal/conversions/${job.id}/complete`, await completeReport(job, "worker-b"))).status,
    ).toBe(200);
  });

  it("keeps the lease while the worker reports progress", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    for (let report = 1; report <= 4; report++) {
      await sleep(LEASE_MS * 0.4);
      const progress = { worker_id: "worker-a", step: "convert", progress: report / 5 };
      expect((await workerCall(`/internal/conversions/${job.id}/progress`, progress)).status).toBe(200);
    }
    expect(await claim("worker-b")).toBeUndefined();
    expect(await getJob(job.id)).toMatchObject({ status: "running", worker_id: "worker-a", attempts: 1, errors: [] });
  });

  it("hands an expired job back by alarm even when no worker claims", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    await waitFor(async () => (await getJob(job.id)).status === "queued", LEASE_MS + 4000);
    const requeued = await getJob(job.id);
    expect(requeued).toMatchObject({ step: "queued", progress: 0, attempts: 1 });
    expect(requeued.worker_id).toBeUndefined();
    expect(requeued.errors.map((e) => e.message)).toEqual(["lease expired: worker worker-a stopped renewing"]);
  });

  it("fails a job after max_attempts expired leases", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    const queue = conversionQueue(env);
    // Claims at chosen times: each one comes after the previous lease ran out.
    const start = Date.now();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const claimed = await queue.claim(`worker-${attempt}`, start + (attempt - 1) * (LEASE_MS + 1));
      expect(claimed?.job).toMatchObject({ id: job.id, attempts: attempt });
    }
    expect(await queue.claim("worker-4", start + 3 * (LEASE_MS + 1))).toBeNull();
    const failed = await getJob(job.id);
    expect(failed).toMatchObject({ status: "failed", attempts: 3, max_attempts: 3 });
    expect(failed.finished_at).toBeDefined();
    expect(failed.errors.map((e) => e.worker_id)).toEqual(["worker-1", "worker-2", "worker-3"]);
  });

  it("never gives the same job to two simultaneous claims", async () => {
    await registerModel("demo-lm");
    const jobs: ConversionJob[] = [];
    // One target each: the same target twice at once is refused as a double submission.
    for (const target of ["int8", "fp16", "int4"] as const) jobs.push(await requestConversion("demo-lm", [target]));
    const claims = await Promise.all(Array.from({ length: 8 }, (_, n) => claim(`worker-${n}`)));
    const claimed = claims.filter((c): c is ClaimedConversion => c !== undefined);
    expect(claimed.map((c) => c.job.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(new Set(claimed.map((c) => c.job.worker_id)).size).toBe(3);
  });

  it("claims in request order (FIFO)", async () => {
    await registerModel("demo-lm");
    const first = await requestConversion("demo-lm", ["int8"]);
    const second = await requestConversion("demo-lm", ["fp16"]);
    expect((await claim("worker-a"))?.job.id).toBe(first.id);
    expect((await claim("worker-b"))?.job.id).toBe(second.id);
  });
});
