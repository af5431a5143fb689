import { ClaimedConversionSchema, type ConversionJob, ConversionJobSchema, type ModelVersion } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import {
  claim,
  completeReport,
  getJob,
  registerModel,
  requestConversion,
  sourceVerification,
  workerCall,
} from "./support/conversion-reports.js";
import { ADMIN, call, expectProblem, resetEdge } from "./support/requests.js";

afterEach(() => resetEdge());

async function listJobs(query: string): Promise<ConversionJob[]> {
  const response = await call("GET", `/v1/conversions${query}`, { key: ADMIN });
  expect(response.status).toBe(200);
  return ((await response.json()) as { jobs: ConversionJob[] }).jobs;
}

describe("conversion jobs: request → claim → progress → complete", () => {
  it("runs a job to success and records the formats on the version", async () => {
    await registerModel("demo-lm");
    const response = await call("POST", "/v1/models/demo-lm/versions/1/conversions", {
      key: ADMIN,
      body: { targets: ["int8", "fp16"], shapes: [128, 512] },
    });
    expect(response.status).toBe(202);
    const queued = (await response.json()) as ConversionJob;
    expect(response.headers.get("location")).toBe(`/v1/conversions/${queued.id}`);
    expect(queued).toMatchObject({
      model: "demo-lm",
      version: 1,
      targets: ["int8", "fp16"],
      shapes: [128, 512],
      primary: 128,
      status: "queued",
      step: "queued",
      progress: 0,
      attempts: 0,
      max_attempts: 3,
      cancel_requested: false,
      created_by: "admin",
      errors: [],
    });
    expect(queued.id).toMatch(/^cj_[0-9a-f-]{36}$/);

    const claimed = await claim("worker-a");
    // What the GPU worker parses: the job and the version document, exactly as the shared schema says.
    expect(ClaimedConversionSchema.safeParse(claimed).success).toBe(true);
    expect(claimed?.lease_ms).toBe(1000);
    expect(claimed?.job).toMatchObject({ id: queued.id, status: "running", worker_id: "worker-a", attempts: 1 });
    expect(claimed?.source).toMatchObject({ name: "demo-lm", version: 1, kind: "causal-lm" });

    const progress = await workerCall(`/internal/conversions/${queued.id}/progress`, {
      worker_id: "worker-a",
      step: "convert",
      step_detail: "int8",
      progress: 0.5,
      message: "quantizing MatMul weights",
    });
    expect(progress.status).toBe(200);
    expect(await getJob(queued.id)).toMatchObject({
      status: "running",
      step: "convert",
      step_detail: "int8",
      progress: 0.5,
      message: "quantizing MatMul weights",
    });

    const report = await completeReport(queued, "worker-a");
    const completed = await workerCall(`/internal/conversions/${queued.id}/complete`, report);
    expect(completed.status).toBe(200);
    // A worker that lost the answer sends its complete again and hears the same.
    const repeated = await workerCall(`/internal/conversions/${queued.id}/complete`, report);
    expect(repeated.status).toBe(200);
    const done = await getJob(queued.id);
    expect(await repeated.json()).toEqual(done);
    expect(ConversionJobSchema.safeParse(done).success).toBe(true);
    expect(done).toMatchObject({ status: "succeeded", step: "done", progress: 1, result: { source_gates_ok: true } });
    expect(done.finished_at).toBeDefined();
    expect(done.lease_expires_at).toBeUndefined();
    expect(done.result?.formats.int8).toEqual({
      gates_ok: true,
      must_pass_failed: [],
      uri: report.formats.int8?.artifact.uri,
      bytes: report.formats.int8?.artifact.bytes,
      size_ratio: 0.27,
      top1_agreement: 0.98,
    });

    const version = (await (await call("GET", "/v1/models/demo-lm/versions/1", { key: ADMIN })).json()) as ModelVersion;
    expect(version.verification?.job_id).toBe(queued.id);
    expect(Object.keys(version.converted_formats ?? {}).sort()).toEqual(["fp16", "int8"]);
    expect(await claim("worker-a")).toBeUndefined();
  });

  it("lists jobs newest first, by model and by status", async () => {
    await registerModel("model-a");
    await registerModel("model-b");
    const first = await requestConversion("model-a");
    const second = await requestConversion("model-b");
    const third = await requestConversion("model-a", ["fp16"]);
    await claim("worker-a");
    expect((await listJobs("")).map((j) => j.id)).toEqual([third.id, second.id, first.id]);
    expect((await listJobs("?model=model-a")).map((j) => j.id)).toEqual([third.id, first.id]);
    expect((await listJobs("?status=running")).map((j) => j.id)).toEqual([first.id]);
    expect((await listJobs("?status=queued&limit=1")).map((j) => j.id)).toEqual([third.id]);
    const bad = await expectProblem(await call("GET", "/v1/conversions?status=done", { key: ADMIN }), 400);
    expect(bad.errors?.map((e) => e.field)).toEqual(["status"]);
  });

  it("records a failure with the source's failed verification on the version", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    const failed = await workerCall(`/internal/conversions/${job.id}/fail`, {
      worker_id: "worker-a",
      error: { step: "shapes", message: "T1024 did not run: out of memory" },
      source_verification: await sourceVerification(job.id, false),
    });
    expect(failed.status).toBe(200);
    const stored = await getJob(job.id);
    expect(stored).toMatchObject({ status: "failed", step: "shapes" });
    expect(stored.errors).toEqual([
      expect.objectContaining({ step: "shapes", message: "T1024 did not run: out of memory", worker_id: "worker-a" }),
    ]);
    const version = (await (await call("GET", "/v1/models/demo-lm/versions/1", { key: ADMIN })).json()) as ModelVersion;
    expect(version.verification).toMatchObject({ gates_ok: false, job_id: job.id });
  });
});

describe("cancelling", () => {
  it("cancels a queued job: no worker gets it, and a second cancel is a conflict", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    const response = await call("POST", `/v1/conversions/${job.id}/cancel`, { key: ADMIN });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "cancelled", cancel_requested: true });
    expect((await getJob(job.id)).finished_at).toBeDefined();
    expect(await claim("worker-a")).toBeUndefined();
    await expectProblem(await call("POST", `/v1/conversions/${job.id}/cancel`, { key: ADMIN }), 409);
  });

  it("cancels a running job: the holder's next progress says so and its complete is refused", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    expect((await call("POST", `/v1/conversions/${job.id}/cancel`, { key: ADMIN })).status).toBe(200);
    const progress = await workerCall(`/internal/conversions/${job.id}/progress`, {
      worker_id: "worker-a",
      step: "convert",
      progress: 0.4,
    });
    expect(progress.status).toBe(200);
    expect(await progress.json()).toMatchObject({ status: "cancelled", cancel_requested: true });
    const refused = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/complete`, await completeReport(job, "worker-a")),
      409,
    );
    expect(refused.detail).toContain("cancelled");
    const stored = await getJob(job.id);
    expect(stored.status).toBe("cancelled");
    expect(stored.result).toBeUndefined();
  });
});

describe("completing: only the lease holder, only with files that exist", () => {
  it("refuses a complete from a worker that does not hold the lease (409), leaving the job running", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    const problem = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/complete`, await completeReport(job, "worker-b")),
      409,
    );
    expect(problem.detail).toContain("worker-a");
    expect(await getJob(job.id)).toMatchObject({ status: "running", worker_id: "worker-a" });
  });

  it("answers 422 naming the field when an artifact or file is missing or differs, and the job keeps running", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    await claim("worker-a");
    const report = await completeReport(job, "worker-a");
    const int8 = report.formats.int8;
    if (!int8) throw new Error("the report has no int8 format");
    const missingArtifact = {
      ...report,
      formats: { int8: { ...int8, artifact: { ...int8.artifact, uri: `${int8.artifact.uri}-missing` } } },
    };
    const missing = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/complete`, missingArtifact),
      422,
    );
    expect(missing).toMatchObject({ code: "artifact_missing", errors: [{ field: "formats.int8.artifact.uri" }] });
    const wrongSize = {
      ...report,
      formats: { int8: { ...int8, files: { ...int8.files, contract: { ...int8.files.contract, bytes: 1 } } } },
    };
    const mismatch = await expectProblem(await workerCall(`/internal/conversions/${job.id}/complete`, wrongSize), 422);
    expect(mismatch).toMatchObject({
      code: "artifact_mismatch",
      errors: [{ field: "formats.int8.files.contract.bytes" }],
    });
    expect(await getJob(job.id)).toMatchObject({ status: "running", worker_id: "worker-a" });
    // The worker can still finish the job once the files are right.
    expect((await workerCall(`/internal/conversions/${job.id}/complete`, report)).status).toBe(200);
  });

  it("refuses a format that was not requested", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm", ["int8"]);
    await claim("worker-a");
    const problem = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/complete`, await completeReport(job, "worker-a", ["int4"])),
      400,
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(["formats.int4"]);
  });
});
