/**
 * The registry's side of conversions (issue 6): the coordinator records a finished job's
 * verification and converted formats, reads show them, and promotion enforces seed 001's
 * must-pass gates (refused with `gate_failed`, or forced with a reason kept in the history).
 */

import type { HistoryEvent, ModelVersion } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { conversionOutcome, recordConversion } from "./support/converted-formats.js";
import { ADMIN, call, causalLmRegistration, expectProblem, resetEdge } from "./support/requests.js";

afterEach(() => resetEdge());

async function json<T>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function register(name: string): Promise<void> {
  await json(await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: causalLmRegistration() }), 201);
}

const getVersion = async (name: string, version: number | string = 1) =>
  json<ModelVersion>(await call("GET", `/v1/models/${name}/versions/${version}`, { key: ADMIN }));

const history = async (name: string) =>
  (await json<{ events: HistoryEvent[] }>(await call("GET", `/v1/models/${name}/history`, { key: ADMIN }))).events;

const promote = (name: string, body: Record<string, unknown>, version = 1) =>
  call("POST", `/v1/models/${name}/versions/${version}/stage`, { key: ADMIN, body: { stage: "Production", ...body } });

describe("recording conversions", () => {
  it("stores verification, formats and labels, and the reads show them", async () => {
    await register("demo-lm");
    const outcome = await conversionOutcome("job-1", { int8: [], int4: ["top1_agreement", "cosine_similarity"] });
    const recorded = await recordConversion("demo-lm", 1, outcome);
    expect(recorded.ok).toBe(true);

    const version = await getVersion("demo-lm");
    expect(version.verification).toMatchObject({ gates_ok: true, job_id: "job-1", primary_shape: "T1024" });
    expect(version.converted_formats?.int8).toMatchObject({ gates_ok: true, artifact: outcome.formats.int8?.artifact });
    expect(version.converted_formats?.int4).toMatchObject({
      gates_ok: false,
      must_pass_failed: ["top1_agreement", "cosine_similarity"],
    });
    // Only the format that passed is labelled; the label change is a metadata revision like a PATCH.
    expect(version.formats).toEqual(["onnx", "onnx-int8"]);
    expect(version.metadata_revision).toBe(2);
    expect(version.serving_format).toBeUndefined();
    const revision = await json<{ metadata: { formats: string[] } }>(
      await call("GET", "/v1/models/demo-lm/versions/1/metadata?revision=2", { key: ADMIN }),
    );
    expect(revision.metadata.formats).toEqual(["onnx", "onnx-int8"]);
    const model = await json<{ versions: ModelVersion[] }>(await call("GET", "/v1/models/demo-lm", { key: ADMIN }));
    expect(Object.keys(model.versions[0]?.converted_formats ?? {})).toEqual(["int8", "int4"]);

    const events = (await history("demo-lm")).filter((e) => e.job_id === "job-1");
    expect(events.map((e) => [e.action, e.format, e.gates_failed])).toEqual([
      ["verification_recorded", undefined, undefined],
      ["conversion_recorded", "int8", undefined],
      ["conversion_recorded", "int4", ["top1_agreement", "cosine_similarity"]],
    ]);
  });

  it("a re-run replaces a target, and the same job delivered twice is recorded once", async () => {
    await register("demo-lm");
    await recordConversion("demo-lm", 1, await conversionOutcome("job-1", { int8: [], int4: ["top1_agreement"] }));
    const rerun = await conversionOutcome("job-2", { int4: [] });
    expect((await recordConversion("demo-lm", 1, rerun)).ok).toBe(true);
    const before = (await history("demo-lm")).length;
    expect((await recordConversion("demo-lm", 1, rerun)).ok).toBe(true);
    expect(await history("demo-lm")).toHaveLength(before);

    const version = await getVersion("demo-lm");
    expect(version.converted_formats?.int4).toMatchObject({ gates_ok: true, job_id: "job-2" });
    expect(version.converted_formats?.int8?.job_id).toBe("job-1");
    expect(version.formats).toEqual(["onnx", "onnx-int8", "onnx-int4"]);
  });

  it("refuses unknown models and versions, deleted versions, and artifacts missing from storage", async () => {
    await register("demo-lm");
    const outcome = await conversionOutcome("job-1", { int8: [] });
    for (const [name, version] of [
      ["nope", 1],
      ["demo-lm", 7],
    ] as const) {
      const result = await recordConversion(name, version, outcome);
      expect(result.ok ? "ok" : result.error.code).toBe("not_found");
    }
    await json(await call("DELETE", "/v1/models/demo-lm/versions/1", { key: ADMIN }));
    const deleted = await recordConversion("demo-lm", 1, outcome);
    expect(deleted.ok ? "ok" : deleted.error.code).toBe("not_found");

    await register("other-lm");
    const int8 = outcome.formats.int8;
    if (!int8) throw new Error("no int8");
    const missing = {
      ...outcome,
      formats: { int8: { ...int8, artifact: { ...int8.artifact, sha256: "b".repeat(64) } } },
    };
    const refused = await recordConversion("other-lm", 1, missing);
    expect(refused.ok ? [] : refused.error.errors?.map((e) => e.field)).toEqual(["formats.int8.artifact.sha256"]);
    expect((await getVersion("other-lm")).converted_formats).toBeUndefined();
  });
});

describe("promotion gates", () => {
  it("refuses Production for a failed version gate, with nothing written", async () => {
    await register("demo-lm");
    await recordConversion("demo-lm", 1, await conversionOutcome("job-1", { int8: [] }, ["shape_T1024"]));
    const before = await history("demo-lm");
    const problem = await expectProblem(await promote("demo-lm", {}), 422);
    expect(problem.code).toBe("gate_failed");
    expect(problem.detail).toContain("shape_T1024");
    expect(problem.errors?.map((e) => e.field)).toEqual(["stage"]);
    expect((await getVersion("demo-lm")).stage).toBe("None");
    expect(await history("demo-lm")).toEqual(before);
    // Staging is no promise to serve: the version gate only guards Production.
    await json(await promote("demo-lm", { stage: "Staging" }));
  });

  it("force needs a reason, and a forced promotion records what it overrode", async () => {
    await register("demo-lm");
    await recordConversion("demo-lm", 1, await conversionOutcome("job-1", { int4: ["top1_agreement"] }, ["load"]));
    const unexplained = await expectProblem(await promote("demo-lm", { force: true }), 400);
    expect(unexplained.errors?.map((e) => e.field)).toEqual(["reason"]);

    const reason = "int4 accuracy accepted for the edge demo";
    const forced = await json<{ version: ModelVersion }>(
      await promote("demo-lm", { force: true, reason, format: "int4" }),
    );
    expect(forced.version).toMatchObject({ stage: "Production", serving_format: "int4" });
    const event = (await history("demo-lm")).at(-1);
    expect(event).toMatchObject({
      action: "stage_changed",
      to: "Production",
      format: "int4",
      forced: true,
      reason,
      gates_failed: ["load", "int4:top1_agreement"],
    });
  });

  it("checks a promoted format: missing is 404, failed is 422, verified becomes the serving format", async () => {
    await register("demo-lm");
    await recordConversion("demo-lm", 1, await conversionOutcome("job-1", { int8: [], int4: ["max_abs_diff"] }));
    const missing = await expectProblem(await promote("demo-lm", { format: "fp16" }), 404);
    expect(missing.errors?.map((e) => e.field)).toEqual(["format"]);
    const failed = await expectProblem(await promote("demo-lm", { format: "int4" }), 422);
    expect(failed.code).toBe("gate_failed");
    expect(failed.detail).toContain("max_abs_diff");
    expect(failed.errors?.map((e) => e.field)).toEqual(["format"]);
    expect((await getVersion("demo-lm")).stage).toBe("None");

    const promoted = await json<{ version: ModelVersion }>(await promote("demo-lm", { format: "int8" }));
    expect(promoted.version).toMatchObject({ stage: "Production", serving_format: "int8" });
    expect((await history("demo-lm")).at(-1)).toMatchObject({ format: "int8" });
    expect((await history("demo-lm")).at(-1)?.forced).toBeUndefined();
    // Leaving Production and coming back without `format` keeps the serving format.
    await json(await promote("demo-lm", { stage: "Staging" }));
    expect((await json<{ version: ModelVersion }>(await promote("demo-lm", {}))).version.serving_format).toBe("int8");
  });

  it("a re-run that fails the serving format stops serving it", async () => {
    await register("demo-lm");
    await recordConversion("demo-lm", 1, await conversionOutcome("job-1", { int8: [] }));
    await json(await promote("demo-lm", { format: "int8" }));
    await recordConversion("demo-lm", 1, await conversionOutcome("job-2", { int8: ["top1_agreement"] }));
    const version = await getVersion("demo-lm");
    expect(version.serving_format).toBeUndefined();
    expect(version.formats).toEqual(["onnx"]);
  });

  it("a version never verified promotes as before", async () => {
    await register("demo-lm");
    const promoted = await json<{ version: ModelVersion }>(await promote("demo-lm", {}));
    expect(promoted.version.stage).toBe("Production");
    expect(promoted.version.verification).toBeUndefined();
  });
});
