/// <reference path="../../../types/s3rver.d.ts" />
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeStackPorts, startLocalStack } from "@modelgate/infra/local-stack";
import type { TestProject } from "vitest/node";

export interface CliTestStack {
  edgeUrl: string;
  adminKey: string;
  s3Endpoint: string;
  workerId: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    cliStack: CliTestStack;
  }
}

/**
 * One real local stack for every CLI test: s3rver, `wrangler dev` running the edge and one
 * CPU GPU-worker, with demo-lm and spirals seeded, in a temporary data dir on free ports.
 * Tests share it, so each one works on model names of its own.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dataDir = await mkdtemp(join(tmpdir(), "modelgate-cli-stack-"));
  const stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
  }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  project.provide("cliStack", {
    edgeUrl: stack.edgeUrl,
    adminKey: stack.adminKey,
    s3Endpoint: stack.s3Endpoint,
    workerId: stack.workerId,
  });
  return async () => {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
