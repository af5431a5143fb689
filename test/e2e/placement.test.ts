/**
 * Issue 17's placement through the real stack: a version given `min_replicas` and a pin is warmed
 * by the worker after the edge's heartbeat answer asks for it (no request served it), every replica
 * passes the smoke test, and a pin to a worker that is not there makes requests fail with 503
 * naming the placement rather than run elsewhere.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import {
  ModelVersionSchema,
  ReplicaTestReportSchema,
  type WorkerListEntry,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

let dataDir: string;
let stack: LocalStack;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-placement-"));
  stack = await startLocalStack({ dataDir, ...(await freeStackPorts()), gpuMonitorIntervalMs: 1000 });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function spiralsLoadedOnStackWorker(version: number): Promise<boolean> {
  const listed = z
    .object({ workers: z.array(WorkerListEntrySchema) })
    .parse(await jsonWithStatus(await callEdge(stack, "GET", "/v1/workers"), 200));
  const worker = listed.workers.find((w: WorkerListEntry) => w.heartbeat.worker_id === stack.workerId);
  return worker?.heartbeat.loaded_models.some((m) => m.name === "spirals" && m.version === version) ?? false;
}

function place(version: number, placement: object): Promise<Response> {
  return callEdge(stack, "PATCH", `/v1/models/spirals/versions/${version}`, { serving: { placement } });
}

describe("placement on the local stack", () => {
  it("preloads a placed version, smoke-tests its replica, and refuses to route off-placement", async () => {
    const spirals = ModelVersionSchema.passthrough().parse(
      await jsonWithStatus(await callEdge(stack, "GET", "/v1/models/spirals/versions/production"), 200),
    );
    // Nothing has asked for spirals yet: warm afterwards means placement loaded it.
    expect(await spiralsLoadedOnStackWorker(spirals.version)).toBe(false);
    expect((await place(spirals.version, { min_replicas: 1, pinned_workers: [stack.workerId] })).status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (!(await spiralsLoadedOnStackWorker(spirals.version)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await spiralsLoadedOnStackWorker(spirals.version)).toBe(true);

    const report = ReplicaTestReportSchema.parse(
      await jsonWithStatus(
        await callEdge(stack, "POST", `/v1/models/spirals/versions/${spirals.version}/replica-tests`),
        200,
      ),
    );
    expect(report.ok).toBe(true);
    expect(report.results).toEqual([
      expect.objectContaining({ worker_id: stack.workerId, ok: true, status: 200, warm: true }),
    ]);

    expect((await place(spirals.version, { pinned_workers: ["gpu-elsewhere"] })).status).toBe(200);
    const refused = await callEdge(stack, "POST", "/v1/predict", { model: "spirals", data: [[0.5, 0.3]] });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(((await refused.json()) as { detail: string }).detail).toContain("pinned gpu-elsewhere");
  });
});
