/// <reference path="../../types/s3rver.d.ts" />
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UploadResponseSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// The real local-stack pieces: s3rver and `wrangler dev` running the real edge.
import { type EdgeDevServer, startEdgeDevServer } from "../../infra/src/local-stack/edge-dev-server.js";
import { type LocalS3Server, startLocalS3Server } from "../../infra/src/local-stack/local-s3-server.js";
import { freePort, REPO_ROOT } from "../../infra/src/local-stack/local-stack.js";
import { runCli } from "../src/run-cli.js";
import { modelgate } from "./support/run.js";

const ADMIN_KEY = `mg_admin_${randomBytes(16).toString("hex")}`;
const MULTIPART_THRESHOLD = 64 * 1024;
const PART_BYTES = 16 * 1024;

let dataDir: string;
let s3: LocalS3Server;
let edge: EdgeDevServer;
const admin = () => ({ env: { MODELGATE_URL: edge.url, MODELGATE_KEY: ADMIN_KEY }, cwd: dataDir });

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-cli-upload-"));
  s3 = await startLocalS3Server({ directory: join(dataDir, "s3"), port: await freePort(), bucket: "modelgate-models" });
  edge = await startEdgeDevServer({
    repoRoot: REPO_ROOT,
    dataDir,
    port: await freePort(),
    secrets: {
      adminKey: ADMIN_KEY,
      workerToken: `mg_worker_${randomBytes(16).toString("hex")}`,
      signingSecret: `mg_sign_${randomBytes(16).toString("hex")}`,
      metricsToken: `mg_metrics_${randomBytes(16).toString("hex")}`,
    },
    s3: {
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      multipartThresholdBytes: MULTIPART_THRESHOLD,
      partBytes: PART_BYTES,
    },
  });
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await s3?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function artifactFile(name: string, bytes: number): Promise<{ path: string; sha256: string }> {
  const content = randomBytes(bytes);
  const path = join(dataDir, name);
  await writeFile(path, content);
  return { path, sha256: createHash("sha256").update(content).digest("hex") };
}

describe("models upload (real edge under wrangler dev, real s3rver)", () => {
  it("uploads a small file with one PUT and prints the verified artifact", async () => {
    const file = await artifactFile("small.onnx", 5000);
    const run = await modelgate(["models", "upload", file.path], admin());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^uri\\s+s3://modelgate-models/artifacts/sha256/${file.sha256}$`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^sha256\\s+${file.sha256}$`, "m"));
    expect(run.stdout).toMatch(/^bytes\s+5000 \(4\.9 KiB\)$/m);
    expect(run.stdout).toMatch(/^format\s+onnx$/m);
    // Not a terminal: plain progress lines, no carriage returns, and a hint on what to do next.
    expect(run.stderr).toContain("uploading small.onnx: 4.9 KiB");
    expect(run.stderr).toContain("uploaded 1 part");
    expect(run.stderr).not.toContain("\r");
    expect(run.stderr).toContain("modelgate models register");

    // The edge verified it, so uploading the same content again sends nothing.
    const again = await modelgate(["models", "upload", file.path], admin());
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("already uploaded and verified");
    expect(again.stdout).toBe(run.stdout);
  });

  it("uploads a large file in parallel multipart PUTs; --json prints the completion response only", async () => {
    const file = await artifactFile("large.onnx", 7 * PART_BYTES + 123);
    const run = await modelgate(["models", "upload", file.path, "--format", "onnx-int8", "--json"], admin());
    expect(run.code, run.stderr).toBe(0);
    const response = UploadResponseSchema.parse(JSON.parse(run.stdout));
    expect(response).toMatchObject({
      status: "complete",
      method: "multipart",
      format: "onnx-int8",
      part_size: PART_BYTES,
      artifact: { sha256: file.sha256, bytes: 7 * PART_BYTES + 123 },
    });
    expect(run.stderr).toBe("");
  });

  it("draws a progress bar on a terminal", async () => {
    const file = await artifactFile("tty.onnx", 3 * PART_BYTES + 1 + MULTIPART_THRESHOLD);
    let stdout = "";
    let stderr = "";
    const code = await runCli(["models", "upload", file.path], {
      ...admin(),
      stdout: (s) => {
        stdout += s;
      },
      stderr: (s) => {
        stderr += s;
      },
      stderrIsTTY: true,
    });
    expect(code, stderr).toBe(0);
    // Redrawn in place: carriage return + "erase line" before each frame.
    expect(stderr).toContain("\r\u001b[2Kuploading tty.onnx [");
    expect(stderr).toMatch(/uploading tty\.onnx \[#{28}\] 100% {2}1\d\d\.\d KiB \/ 1\d\d\.\d KiB {2}\S+ \S+\/s/);
    expect(stderr).toContain("uploaded 8 parts");
    expect(stdout).toContain(file.sha256);
  });
});

describe("models upload errors", () => {
  it("a missing file is a usage error (exit 2) before anything is sent", async () => {
    const run = await modelgate(["models", "upload", "nope.onnx"], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Cannot read nope.onnx (ENOENT)");
    expect(run.stderr).toContain("hint: pass the path of the model artifact");
  });

  it("an unknown --format is a usage error", async () => {
    const file = await artifactFile("fmt.onnx", 10);
    const run = await modelgate(["models", "upload", file.path, "--format", "gguf"], admin());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("onnx-int8");
  });

  it("no key → exit 3 with a hint; a key without models:write → exit 3 (403)", async () => {
    const file = await artifactFile("auth.onnx", 100);
    const anonymous = await modelgate(["models", "upload", file.path], {
      env: { MODELGATE_URL: edge.url },
      cwd: "/nonexistent-modelgate-cwd",
    });
    expect(anonymous.code).toBe(3);
    expect(anonymous.stderr).toContain("no API key was sent");

    const created = await modelgate(["keys", "create", "reader", "--scopes", "models:read", "--json"], admin());
    const reader = (JSON.parse(created.stdout) as { key: string }).key;
    const forbidden = await modelgate(["models", "upload", file.path, "--key", reader], admin());
    expect(forbidden.code).toBe(3);
    expect(forbidden.stderr).toContain("lacks the `models:write` scope");
  });
});
