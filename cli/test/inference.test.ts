import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GenerateResponseSchema, PredictResponseSchema } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, startFakeEdge } from "./support/fake-edge.js";
import { seededModels, seededWorkers } from "./support/fixtures.js";
import type { TestServer } from "./support/http-server.js";
import { modelgate } from "./support/run.js";

let edge: TestServer;
let workDir: string;
const admin = () => ({ env: { MODELGATE_URL: edge.url, MODELGATE_KEY: ADMIN_KEY }, cwd: workDir });

beforeEach(async () => {
  edge = await startFakeEdge({ models: seededModels(), workers: seededWorkers() });
  workDir = await mkdtemp(join(tmpdir(), "modelgate-cli-infer-"));
});
afterEach(async () => {
  await edge.close();
  await rm(workDir, { recursive: true, force: true });
});

describe("generate", () => {
  it("prints only the text on stdout and the routing details on stderr", async () => {
    const run = await modelgate(
      ["generate", "demo-lm", "hello there", "--max-new-tokens", "16", "--temperature", "0", "--seed", "7"],
      admin(),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("echo: hello there\n");
    expect(run.stderr).toContain("demo-lm@2 on gpu-box-1; route: least loaded live worker");
    expect(run.stderr).toContain("3 tokens (halt, halt p=0.75)");
    expect(run.stderr).toContain("seed 7");
    expect(edge.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1/generate",
      contentType: "application/json",
      body: { model: "demo-lm", prompt: "hello there", max_new_tokens: 16, temperature: 0, seed: 7 },
    });
  });

  it("sends only the flags that were given", async () => {
    await modelgate(["generate", "demo-lm@2", "hi"], admin());
    expect(edge.requests[0]?.body).toEqual({ model: "demo-lm@2", prompt: "hi" });
  });

  it("--json prints the GenerateResponse alone", async () => {
    const run = await modelgate(["generate", "demo-lm", "hi", "--json"], admin());
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    expect(GenerateResponseSchema.parse(JSON.parse(run.stdout)).text).toBe("echo: hi");
  });

  it("rejects out-of-range flags and bad model references before sending", async () => {
    for (const argv of [
      ["generate", "demo-lm", "hi", "--max-new-tokens", "0"],
      ["generate", "demo-lm", "hi", "--max-new-tokens", "many"],
      ["generate", "demo-lm", "hi", "--temperature", "9"],
      ["generate", "demo-lm", "hi", "--seed", "-1"],
      ["generate", "demo-lm@latest", "hi"],
      ["generate", "demo-lm"],
      ["generate", "demo-lm", "hi", "--bogus"],
    ]) {
      const run = await modelgate(argv, admin());
      expect(run.code, argv.join(" ")).toBe(2);
    }
    expect(edge.requests).toHaveLength(0);
  });

  it("exits 5 and prints each field error when the edge answers 400", async () => {
    const run = await modelgate(["generate", "spirals", "hi"], admin());
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("spirals@1 is a tensor model. (400 bad_request)");
    expect(run.stderr).toContain("\n  model: expected a causal-lm model\n");
    expect(run.stderr).toContain("hint: fix the fields named above");
  });
});

describe("predict", () => {
  it("prints one row per input with its prediction and probabilities", async () => {
    const run = await modelgate(["predict", "spirals", "--data", "[[0.9,0.1],[0.2,0.3]]"], admin());
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      ["ROW  PREDICTION  PROBABILITIES", "0    1           0.100 0.900", "1    0           0.800 0.200", ""].join("\n"),
    );
    expect(run.stderr).toContain("spirals@1 on gpu-box-1");
    expect(edge.requests[0]?.body).toEqual({
      model: "spirals",
      data: [
        [0.9, 0.1],
        [0.2, 0.3],
      ],
    });
  });

  it("reads --data @file relative to the working directory; --json matches PredictResponseSchema", async () => {
    await writeFile(join(workDir, "rows.json"), "[[0.7, 0.1]]");
    const run = await modelgate(["predict", "spirals", "--data", "@rows.json", "--json"], admin());
    expect(run.code).toBe(0);
    expect(PredictResponseSchema.parse(JSON.parse(run.stdout)).predictions).toEqual([1]);
  });

  it.each([
    ["not JSON", "[[0.5,0.3]"],
    ["not a matrix", "[0.5,0.3]"],
    ["an empty matrix", "[]"],
    ["strings in a row", '[[0.5,"x"]]'],
    ["a missing file", "@nowhere.json"],
  ])("exits 2 without sending a request when --data is %s", async (_label, data) => {
    const run = await modelgate(["predict", "spirals", "--data", data], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("hint: pass a JSON matrix of numbers");
    expect(edge.requests).toHaveLength(0);
  });

  it("exits 2 when --data is missing", async () => {
    const run = await modelgate(["predict", "spirals"], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--data <matrix>' not specified");
  });

  it("exits 4 for an unknown model", async () => {
    const run = await modelgate(["predict", "nope", "--data", "[[1,2]]"], admin());
    expect(run.code).toBe(4);
  });
});

describe("no live worker", () => {
  it("exits 6 with the stack hint when the edge answers 503", async () => {
    await edge.close();
    edge = await startFakeEdge({ models: seededModels(), workers: [], noLiveWorkers: true });
    const run = await modelgate(["generate", "demo-lm", "hi"], admin());
    expect(run.code).toBe(6);
    expect(run.stderr).toContain("(503 no_worker_available)");
    expect(run.stderr).toContain("`modelgate workers list`");
    expect(run.stderr).toContain("is the stack running? try `npm start`");
  });
});
