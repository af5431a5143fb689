import { afterEach, describe, expect, it } from "vitest";
import { claim, getJob, registerModel, requestConversion, workerCall } from "./support/conversion-reports.js";
import { ADMIN, call, expectProblem, resetEdge, WORKER_TOKEN } from "./support/requests.js";

afterEach(() => resetEdge());

// Conversion job routes refusing what they must: malformed bodies and ids, unknown things, wrong callers.

describe("validation", () => {
  it("names the field at fault in a conversion request", async () => {
    await registerModel("demo-lm");
    const path = "/v1/models/demo-lm/versions/1/conversions";
    const unknownTarget = await expectProblem(
      await call("POST", path, { key: ADMIN, body: { targets: ["int9"] } }),
      400,
    );
    expect(unknownTarget.errors?.map((e) => e.field)).toEqual(["targets.0"]);
    const badPrimary = await expectProblem(
      await call("POST", path, { key: ADMIN, body: { targets: ["int8"], shapes: [512], primary: 1024 } }),
      400,
    );
    expect(badPrimary.errors?.map((e) => e.field)).toEqual(["primary"]);
    await expectProblem(await call("POST", path, { key: ADMIN, rawBody: "{", headers: {} }), 400);
  });

  it("refuses the same target for a version while a job for it is queued or running (409 naming targets)", async () => {
    await registerModel("demo-lm");
    const first = await requestConversion("demo-lm", ["int8", "fp16"]);
    const again = await expectProblem(
      await call("POST", "/v1/models/demo-lm/versions/1/conversions", {
        key: ADMIN,
        body: { targets: ["int4", "int8"] },
      }),
      409,
    );
    expect(again.errors?.map((e) => e.field)).toEqual(["targets"]);
    expect(again.detail).toContain(first.id);
    // Another target is more work, not a repeat; once the first job ends, int8 may be queued again.
    await requestConversion("demo-lm", ["int4"]);
    await call("POST", `/v1/conversions/${first.id}/cancel`, { key: ADMIN });
    expect((await requestConversion("demo-lm", ["int8"])).status).toBe("queued");
  });

  it("answers 404 for an unknown model, version or job, and 400 for a malformed job id", async () => {
    await registerModel("demo-lm");
    const body = { targets: ["int8"] };
    const noModel = await expectProblem(
      await call("POST", "/v1/models/nope/versions/1/conversions", { key: ADMIN, body }),
      404,
    );
    expect(noModel.detail).toContain("nope");
    const noVersion = await expectProblem(
      await call("POST", "/v1/models/demo-lm/versions/7/conversions", { key: ADMIN, body }),
      404,
    );
    expect(noVersion.detail).toContain("demo-lm has no version 7");
    await expectProblem(
      await call("GET", "/v1/conversions/cj_00000000-0000-4000-8000-000000000000", { key: ADMIN }),
      404,
    );
    const badId = await expectProblem(await call("GET", "/v1/conversions/job-1", { key: ADMIN }), 400);
    expect(badId.errors?.map((e) => e.field)).toEqual(["id"]);
  });

  it("names the field at fault in worker reports", async () => {
    await registerModel("demo-lm");
    const job = await requestConversion("demo-lm");
    const noWorker = await expectProblem(await workerCall("/internal/conversions/claim", {}), 400);
    expect(noWorker.errors?.map((e) => e.field)).toEqual(["worker_id"]);
    await claim("worker-a");
    const badProgress = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/progress`, {
        worker_id: "worker-a",
        step: "convert",
        progress: 2,
      }),
      400,
    );
    expect(badProgress.errors?.map((e) => e.field)).toEqual(["progress"]);
    const badStep = await expectProblem(
      await workerCall(`/internal/conversions/${job.id}/fail`, {
        worker_id: "worker-a",
        error: { step: "x", message: "" },
      }),
      400,
    );
    expect(badStep.errors?.map((e) => e.field)).toEqual(["error.step"]);
  });
});

describe("security", () => {
  async function keyWith(scope: string): Promise<string> {
    const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: `only-${scope}`, scopes: [scope] } });
    return ((await created.json()) as { key: string }).key;
  }

  it("keeps people and workers to their own routes", async () => {
    await registerModel("demo-lm");
    const path = "/v1/models/demo-lm/versions/1/conversions";
    const body = { targets: ["int8"] };
    await expectProblem(await call("POST", path, { body }), 401);
    await expectProblem(await call("POST", path, { key: await keyWith("infer"), body }), 403);
    // The worker token is a machine identity: it cannot request conversions or read jobs.
    await expectProblem(await call("POST", path, { key: WORKER_TOKEN, body }), 403);
    await expectProblem(await call("GET", "/v1/conversions", { key: WORKER_TOKEN }), 403);
    const job = await requestConversion("demo-lm");
    await expectProblem(
      await call("POST", `/v1/conversions/${job.id}/cancel`, { key: await keyWith("models:read") }),
      403,
    );
    // And admin keys are for people: they cannot claim or report as a worker.
    await expectProblem(
      await call("POST", "/internal/conversions/claim", { key: ADMIN, body: { worker_id: "x" } }),
      403,
    );
    await expectProblem(await call("POST", "/internal/conversions/claim", { body: { worker_id: "x" } }), 401);
    expect(await getJob(job.id)).toMatchObject({ status: "queued", attempts: 0 });
  });
});
