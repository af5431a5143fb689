import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelRecordSchema, ModelVersionSchema } from "@modelgate/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { StageChangeResponseSchema } from "../src/edge-client.js";
import { ADMIN_KEY, startFakeEdge } from "./support/fake-edge.js";
import { seededModels, seededWorkers, tensorRegistration } from "./support/fixtures.js";
import type { TestServer } from "./support/http-server.js";
import { modelgate } from "./support/run.js";

let edge: TestServer;
let workDir: string;
const admin = () => ({ env: { MODELGATE_URL: edge.url, MODELGATE_KEY: ADMIN_KEY }, cwd: workDir });

beforeEach(async () => {
  edge = await startFakeEdge({ models: seededModels(), workers: seededWorkers() });
  workDir = await mkdtemp(join(tmpdir(), "modelgate-cli-"));
});
afterEach(async () => {
  await edge.close();
  await rm(workDir, { recursive: true, force: true });
});

/** The table row that starts with `first`, split into its cells. */
const rowOf = (table: string, first: string) =>
  table
    .split("\n")
    .find((line) => line.startsWith(`${first} `))
    ?.split(/\s{2,}/);

describe("models list", () => {
  it("prints an aligned table with each model's Production and Staging versions", async () => {
    const run = await modelgate(["models", "list"], admin());
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toMatch(/^NAME\s+KIND\s+VERSIONS\s+PRODUCTION\s+STAGING\s+UPDATED$/);
    expect(rowOf(run.stdout, "demo-lm")).toEqual(["demo-lm", "causal-lm", "3", "v2", "v3", "2026-01-12T10:30:00Z"]);
    expect(rowOf(run.stdout, "spirals")).toEqual(["spirals", "tensor", "1", "v1", "-", "2026-01-11T09:00:00Z"]);
    expect(edge.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v1/models"]);
  });

  it("--json prints the edge's body, which parses with the shared schema", async () => {
    const run = await modelgate(["models", "list", "--json"], admin());
    expect(run.code).toBe(0);
    const parsed = z.object({ models: z.array(ModelRecordSchema) }).parse({ models: JSON.parse(run.stdout) });
    expect(parsed.models.map((m) => m.name)).toEqual(["demo-lm", "spirals"]);
  });
});

describe("models info", () => {
  it("lists every version with its stage", async () => {
    const run = await modelgate(["models", "info", "demo-lm"], admin());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("demo-lm  (3 versions");
    expect(rowOf(run.stdout, "1")?.slice(0, 3)).toEqual(["1", "Archived", "causal-lm"]);
    expect(rowOf(run.stdout, "2")?.slice(0, 3)).toEqual(["2", "Production", "causal-lm"]);
    expect(rowOf(run.stdout, "3")?.slice(0, 3)).toEqual(["3", "Staging", "causal-lm"]);
  });

  it("--version shows one version's details and stage history", async () => {
    const run = await modelgate(["models", "info", "demo-lm", "--version", "2", "--url", edge.url], admin());
    expect(run.code).toBe(0);
    expect(edge.requests[0]?.path).toBe("/v1/models/demo-lm/versions/2");
    expect(run.stdout).toMatch(/^stage\s+Production$/m);
    expect(run.stdout).toContain("input_ids int64[batch,sequence]");
    expect(run.stdout).toContain("None -> Production  by admin");
  });

  it("--json of a version matches ModelVersionSchema", async () => {
    const run = await modelgate(["models", "info", "spirals", "--version", "1", "--json"], admin());
    expect(ModelVersionSchema.parse(JSON.parse(run.stdout)).stage).toBe("Production");
  });

  it("exits 4 with a hint when the model does not exist", async () => {
    const run = await modelgate(["models", "info", "nope"], admin());
    expect(run.code).toBe(4);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("No model named nope. (404 not_found)");
    expect(run.stderr).toContain("hint: check model names and versions with `modelgate models list`");
  });

  it("rejects an invalid model name as a usage error without a request", async () => {
    const run = await modelgate(["models", "info", "Not A Name"], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("invalid for argument 'name'");
    expect(edge.requests).toHaveLength(0);
  });
});

describe("models register", () => {
  it("sends the registration file as written and reports the new version", async () => {
    const registration = tensorRegistration();
    await writeFile(join(workDir, "registration.json"), JSON.stringify(registration));
    const run = await modelgate(["models", "register", "spirals", "--file", "registration.json"], admin());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Registered spirals@2 (stage None, tensor, sha256 cccccccccccc…).");
    expect(run.stdout).toContain("modelgate models promote spirals --version 2 --stage Staging");
    expect(edge.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1/models/spirals/versions",
      contentType: "application/json",
      body: registration,
    });
  });

  it("exits 5 and names each field when the file fails the shared schema, before sending", async () => {
    const registration = tensorRegistration({ primary_category: "vision" });
    const artifact = { ...(tensorRegistration().artifact as object), sha256: "XYZ" };
    await writeFile(join(workDir, "bad.json"), JSON.stringify({ ...registration, artifact }));
    const run = await modelgate(["models", "register", "spirals", "--file", "bad.json"], admin());
    expect(run.code).toBe(5);
    expect(run.stderr).toContain("  artifact.sha256: must be 64 lower-case hex characters (sha256)");
    expect(run.stderr).toContain("  primary_category: must be one of categories");
    expect(edge.requests).toHaveLength(0);
  });

  it("exits 2 when the file is missing or not JSON", async () => {
    const missing = await modelgate(["models", "register", "spirals", "--file", "absent.json"], admin());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Cannot read --file absent.json (ENOENT)");
    await writeFile(join(workDir, "broken.json"), "{ kind: tensor");
    const broken = await modelgate(["models", "register", "spirals", "--file", "broken.json"], admin());
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("--file broken.json is not valid JSON");
    const noFlag = await modelgate(["models", "register", "spirals"], admin());
    expect(noFlag.code).toBe(2);
    expect(edge.requests).toHaveLength(0);
  });
});

describe("models promote", () => {
  it("moves a version to Production, archiving the old one, and shows the new stages", async () => {
    const run = await modelgate(["models", "promote", "demo-lm", "--version", "1", "--reason", "rollback"], admin());
    expect(run.code).toBe(0);
    expect(edge.requests[0]).toMatchObject({
      path: "/v1/models/demo-lm/versions/1/stage",
      body: { stage: "Production", archive_existing: true, reason: "rollback" },
    });
    expect(run.stdout.split("\n")[0]).toBe("demo-lm@1: Archived -> Production");
    expect(rowOf(run.stdout, "1")?.[1]).toBe("Production");
    expect(rowOf(run.stdout, "2")?.[1]).toBe("Archived");
  });

  it("passes --stage and --no-archive through, and --json matches the response schema", async () => {
    const run = await modelgate(
      ["models", "promote", "spirals", "--version", "1", "--stage", "Production", "--no-archive", "--json"],
      admin(),
    );
    expect(run.code).toBe(0);
    expect(edge.requests[0]?.body).toEqual({ stage: "Production", archive_existing: false });
    expect(StageChangeResponseSchema.parse(JSON.parse(run.stdout)).version.stage).toBe("Production");
  });

  it("treats a missing --version, a bad version or an unknown stage as usage errors", async () => {
    for (const argv of [
      ["models", "promote", "demo-lm"],
      ["models", "promote", "demo-lm", "--version", "0"],
      ["models", "promote", "demo-lm", "--version", "two"],
      ["models", "promote", "demo-lm", "--version", "1", "--stage", "Prod"],
    ]) {
      const run = await modelgate(argv, admin());
      expect(run.code, argv.join(" ")).toBe(2);
    }
    expect(edge.requests).toHaveLength(0);
  });
});
