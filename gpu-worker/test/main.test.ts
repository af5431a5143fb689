/**
 * `main.ts` as an operator runs it: a separate Node process under tsx (so the inference threads
 * are bootstrapped the way they are in production), configured only through the environment.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { GenerateResponseSchema } from "@modelgate/shared";
import { afterAll, describe, expect, it } from "vitest";
import { buildDemoLm } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { signedPost } from "./support/signed-fetch.js";
import { testWorkerEnv } from "./support/test-worker.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));

function runMain(env: Record<string, string>): ChildProcess {
  // Only PATH and HOME from the parent, so a developer's own MODELGATE_* variables cannot leak in.
  return spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** stderr (configuration errors) and stdout (the JSON log lines), as they arrive. */
function collect(child: ChildProcess): {
  stderr: () => string;
  stdout: () => string;
  logged: (msg: string) => Record<string, unknown> | undefined;
} {
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  const logged = (msg: string) =>
    stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === msg);
  return { stderr: () => stderr, stdout: () => stdout, logged };
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

describe("main.ts", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it("exits 1 with every configuration problem named", async () => {
    const child = runMain({ MODELGATE_SIGNING_SECRET: "short" });
    const output = collect(child);
    expect(await exitOf(child)).toBe(1);
    expect(output.stderr()).toContain("MODELGATE_EDGE_URL: is required");
    expect(output.stderr()).toContain("MODELGATE_SIGNING_SECRET: must be at least 16 characters");
    expect(output.stderr()).not.toContain("    at ");
  });

  it("serves a generation from inference threads under tsx, and stops on SIGTERM", async () => {
    const s3: LocalS3 = await startLocalS3();
    cleanups.push(() => s3.close());
    const cacheDir = await mkdtemp(join(tmpdir(), "modelgate-main-"));
    cleanups.push(() => rm(cacheDir, { recursive: true, force: true }));
    const child = runMain(testWorkerEnv(s3, cacheDir));
    const output = collect(child);
    const exited = exitOf(child);
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });

    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (!url && Date.now() < deadline && child.exitCode === null) {
      const listening = output.logged("gpu worker listening");
      url = typeof listening?.url === "string" ? listening.url : undefined;
      if (!url) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(url, output.stderr() + output.stdout()).toBeDefined();
    // pino's JSON lines: ISO time, level names, the worker's id on every line.
    expect(output.logged("gpu worker listening")).toMatchObject({
      level: "info",
      service: "modelgate-gpu-worker",
      worker_id: "test-worker",
    });
    const baseUrl = url ?? "";

    const built = buildDemoLm();
    const target = modelVersionFor(built, await s3.upload(built.name, built.onnx));
    const response = await signedPost(baseUrl, "/v1/generate", {
      model: "demo-lm",
      prompt: "Hello",
      max_new_tokens: 8,
      temperature: 0,
      target,
    });
    expect(response.status, output.stderr()).toBe(200);
    expect(GenerateResponseSchema.parse(await response.json()).tokens_generated).toBe(8);

    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(output.logged("shutting down")).toMatchObject({ level: "info", signal: "SIGTERM" });
  });
});
