/**
 * `modelgate models deploy|test` (issue 17) against the shared test stack: placement written as
 * a metadata revision and shown by `models info`, and a smoke request on every live replica
 * through the real edge and the stack's real CPU worker.
 */
import { ModelVersionSchema, ReplicaTestReportSchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { CreatedApiKeySchema } from "../src/edge-client.js";
import {
  cli,
  parseJson,
  stack,
  tempDir,
  tensorRegistration,
  uniqueName,
  uploadArtifact,
  writeJson,
} from "./support/stack.js";

async function registerFake(): Promise<string> {
  const name = uniqueName("placed");
  const file = await writeJson(await tempDir(), "registration.json", tensorRegistration(await uploadArtifact()));
  const registered = await cli(["models", "register", name, "--file", file, "--metric", "val_acc=0.95", "--json"]);
  expect(registered.code, registered.stderr).toBe(0);
  return name;
}

describe("models test", () => {
  it("smoke-tests spirals on the stack's worker and reports it", async () => {
    const report = parseJson(await cli(["models", "test", "spirals@production", "--json"]), ReplicaTestReportSchema);
    expect(report).toMatchObject({ model: "spirals", ok: true, placement: "any worker" });
    expect(report.results.map((r) => [r.worker_id, r.ok, r.status])).toContainEqual([stack().workerId, true, 200]);
    const human = await cli(["models", "test", "spirals"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/spirals@\d+ \(placement: any worker\): (\d+)\/\1 replica\(s\) ok/);
  });

  it("is refused to a key without the admin scope", async () => {
    const created = parseJson(
      await cli(["keys", "create", "cli-writer", "--scopes", "models:write,infer", "--json"]),
      CreatedApiKeySchema,
    );
    const refused = await cli(["models", "test", "spirals"], { env: { MODELGATE_KEY: created.key } });
    expect(refused.code).toBe(3);
  });
});

describe("models deploy", () => {
  it("sets, shows and removes a placement, keeping each change in the history", async () => {
    const name = await registerFake();
    // No worker of the stack carries gpu=a10, so nothing is asked to load this (fake) artifact.
    const deployed = parseJson(
      await cli([
        "models",
        "deploy",
        `${name}@1`,
        "--replicas",
        "2",
        "--label",
        "gpu=a10",
        "--reason",
        "a10 pool",
        "--json",
      ]),
      ModelVersionSchema,
    );
    expect(deployed.serving?.placement).toEqual({ min_replicas: 2, worker_labels: { gpu: "a10" } });
    const pinned = await cli(["models", "deploy", `${name}@1`, "--pin", "gpu-box-7"]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toContain("placement: labels gpu=a10; pinned gpu-box-7; min_replicas 2");
    const info = await cli(["models", "info", `${name}@1`]);
    expect(info.stdout).toMatch(/Placement\s+labels gpu=a10; pinned gpu-box-7; min_replicas 2/);
    expect(info.stdout).toContain("Warm on: no live worker (loaded at the first request) — 0 of min_replicas 2 warm");

    // Nobody matches: the smoke test says so (503, exit 6) and names the placement.
    const none = await cli(["models", "test", `${name}@1`]);
    expect(none.code).toBe(6);
    expect(none.stderr).toContain("pinned gpu-box-7");

    const undeployed = parseJson(
      await cli(["models", "deploy", `${name}@1`, "--undeploy", "--json"]),
      ModelVersionSchema,
    );
    expect(undeployed.serving?.placement).toBeUndefined();
    expect(undeployed.metadata_revision).toBe(4);
  });

  it("refuses bad flags before sending anything", async () => {
    const name = await registerFake();
    const badLabel = await cli(["models", "deploy", `${name}@1`, "--label", "GPU=a10"]);
    expect(badLabel.code).toBe(5);
    expect(badLabel.stderr).toContain("worker_labels");
    expect((await cli(["models", "deploy", `${name}@1`, "--replicas", "-1"])).code).toBe(2);
    expect((await cli(["models", "deploy", `${name}@1`])).code).toBe(2);
    expect((await cli(["models", "deploy", name, "--replicas", "1"])).code).toBe(2);
    const version = parseJson(await cli(["models", "info", `${name}@1`, "--json"]), ModelVersionSchema.passthrough());
    expect(version.metadata_revision).toBe(1);
  });
});
