/**
 * Serving converted formats (issue 6): `name@N:int8` forwards the int8 artifact, a format that
 * failed its gates or does not exist is refused before any worker sees the request, `:best`
 * follows BEST_FORMAT_PREFERENCE, and a version's serving format is its default everywhere.
 */

import { estimateModelMemoryMb, type ModelVersion } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { ConversionOutcome } from "../src/registry/conversion-records.js";
import { conversionOutcome, recordConversion } from "./support/converted-formats.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  registerAndPromote,
  resetEdge,
  sendHeartbeat,
  tensorRegistration,
} from "./support/requests.js";

interface Echo {
  echoed: { model: string; target: ModelVersion };
}

let spirals: ConversionOutcome;

beforeEach(async () => {
  await registerAndPromote("spirals", tensorRegistration());
  spirals = await conversionOutcome("job-1", { int8: [], int4: ["top1_agreement"] });
  const recorded = await recordConversion("spirals", 1, spirals);
  if (!recorded.ok) throw new Error(recorded.error.detail);
  await sendHeartbeat({ worker_id: "gpu-box-1", url: inject("standInWorkerUrl") });
});
afterEach(() => resetEdge());

const predict = (model: string) => call("POST", "/v1/predict", { key: ADMIN, body: { model, data: [[0.5, 0.3]] } });

async function served(response: Response): Promise<{ header: string | null; target: ModelVersion }> {
  expect(response.status, await response.clone().text()).toBe(200);
  const echo = (await response.json()) as Echo;
  return { header: response.headers.get("x-modelgate-model"), target: echo.echoed.target };
}

describe("format references", () => {
  it("`name@N:int8` forwards the int8 artifact, sized for it, and says so in x-modelgate-model", async () => {
    const int8 = spirals.formats.int8;
    if (!int8) throw new Error("no int8");
    const { header, target } = await served(await predict("spirals@1:int8"));
    expect(header).toBe("spirals@1:int8");
    expect(target.artifact).toEqual(int8.artifact);
    expect(target.artifact.format).toBe("onnx-int8");
    expect(target.memory_mb).toBe(estimateModelMemoryMb(int8.artifact.bytes));
    expect(target.serving_format).toBe("int8");
    // The worker gets one artifact to load, not the registry's conversion bookkeeping.
    expect(target.converted_formats).toBeUndefined();
    expect(target.verification).toBeUndefined();
  });

  it("a format that failed its gates is 422, a missing one 404, an unknown selector 400", async () => {
    const failed = await expectProblem(await predict("spirals@1:int4"), 422);
    expect(failed.code).toBe("gate_failed");
    expect(failed.detail).toContain("top1_agreement");
    expect(failed.errors?.map((e) => e.field)).toEqual(["model"]);
    const missing = await expectProblem(await predict("spirals@1:fp16"), 404);
    expect(missing.errors).toEqual([{ field: "model", message: expect.stringContaining("int8, int4 (failed gates)") }]);
    const unknown = await expectProblem(await predict("spirals@1:int9"), 400);
    expect(unknown.errors?.map((e) => e.field)).toEqual(["model"]);
  });

  it("`:best` takes the most preferred format that passed, `:fp32` the original", async () => {
    expect((await served(await predict("spirals:best"))).header).toBe("spirals@1:int8");
    await recordConversion("spirals", 1, await conversionOutcome("job-2", { fp16: [] }));
    expect((await served(await predict("spirals@production:best"))).header).toBe("spirals@1:fp16");
    const original = await served(await predict("spirals@1:fp32"));
    expect(original.header).toBe("spirals@1");
    expect(original.target.artifact.format).toBe("onnx");
  });

  it("without a format, the serving format set by promotion is served", async () => {
    expect((await served(await predict("spirals"))).header).toBe("spirals@1");
    const promoted = await call("POST", "/v1/models/spirals/versions/1/stage", {
      key: ADMIN,
      body: { stage: "Production", format: "int8" },
    });
    expect(promoted.status, await promoted.text()).toBe(200);
    expect((await served(await predict("spirals"))).header).toBe("spirals@1:int8");
    // KServe names cannot carry a format (they are served in the serving format): refused, not misread.
    const named = await call("POST", "/v2/models/spirals:int4/infer", {
      key: ADMIN,
      body: { inputs: [{ name: "features", shape: [1, 2], datatype: "FP32", data: [0.5, 0.3] }] },
    });
    expect(named.status).toBe(400);
    expect(await named.text()).toContain("not a KServe model name");
  });

  it("generate and auto:<category> serve formats too", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration());
    const lm = await conversionOutcome("job-lm", { int8: [] });
    await recordConversion("demo-lm", 1, lm);
    const generate = (model: string) =>
      call("POST", "/v1/generate", { key: ADMIN, body: { model, prompt: "hi", max_new_tokens: 4 } });
    const explicit = await served(await generate("demo-lm@1:int8"));
    expect(explicit.target.artifact.sha256).toBe(lm.formats.int8?.artifact.sha256);
    expect((await served(await generate("auto:general"))).header).toBe("demo-lm@1");
    await call("POST", "/v1/models/demo-lm/versions/1/stage", {
      key: ADMIN,
      body: { stage: "Production", format: "int8" },
    });
    const auto = await served(await generate("auto:general"));
    expect(auto.header).toBe("demo-lm@1:int8");
    expect(auto.target.artifact.format).toBe("onnx-int8");
  });
});
