import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type UploadArtifact, UploadResponseSchema } from "@modelgate/shared";
import { inject } from "vitest";
import { type CliRun, modelgate, type RunOptions } from "./run.js";

export const stack = () => inject("cliStack");

/** `modelgate <argv>` against the test stack with the admin key (env settings can be added or unset). */
export function cli(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  const { edgeUrl, adminKey } = stack();
  return modelgate(argv, { ...options, env: { MODELGATE_URL: edgeUrl, MODELGATE_KEY: adminKey, ...options.env } });
}

/** `--json` output parsed with the schema the test names. */
export function parseJson<T>(run: CliRun, schema: { parse: (value: unknown) => T }): T {
  if (run.code !== 0) throw new Error(`exit ${run.code}: ${run.stderr}`);
  return schema.parse(JSON.parse(run.stdout));
}

/** A model name no other test uses. */
export const uniqueName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "modelgate-cli-test-"));
}

export async function writeJson(directory: string, file: string, value: unknown): Promise<string> {
  const path = join(directory, file);
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/**
 * Puts random bytes into the stack's S3 through the edge's upload API, the way any client
 * does (the registry only accepts artifacts it has verified). Random, so no two tests share one.
 */
export async function uploadArtifact(bytes = 2048): Promise<UploadArtifact> {
  const { edgeUrl, adminKey } = stack();
  const content = randomBytes(bytes);
  const sha256 = createHash("sha256").update(content).digest("hex");
  const call = async (path: string, body: unknown) => {
    const response = await fetch(`${edgeUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return UploadResponseSchema.parse(await response.json());
  };
  const upload = await call("/v1/uploads", { sha256, bytes, format: "onnx" });
  if (upload.status === "complete") return upload.artifact;
  const parts = [];
  for (const part of upload.parts) {
    const put = await fetch(part.url, {
      method: part.method,
      headers: part.headers ?? {},
      body: content.subarray(part.offset, part.offset + part.bytes),
    });
    if (!put.ok) throw new Error(`PUT part ${part.part_number}: ${put.status} ${await put.text()}`);
    await put.body?.cancel();
    parts.push({ part_number: part.part_number, etag: put.headers.get("etag") ?? "" });
  }
  return (await call(`/v1/uploads/${upload.id}/complete`, upload.method === "multipart" ? { parts } : {})).artifact;
}

/** A minimal tensor-model registration (the artifact need not be a real ONNX file: nothing loads it). */
export function tensorRegistration(artifact: UploadArtifact, extra: Record<string, unknown> = {}) {
  return {
    kind: "tensor",
    artifact: { ...artifact, format: "onnx" },
    io: {
      inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
      outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
    },
    ...extra,
  };
}

/** Uploads an artifact and registers it through the CLI; returns the version number. */
export async function registerVersion(name: string, extra: Record<string, unknown> = {}, flags: string[] = []) {
  const directory = await tempDir();
  const file = await writeJson(directory, "registration.json", tensorRegistration(await uploadArtifact(), extra));
  const run = await cli(["models", "register", name, "--file", file, "--json", ...flags]);
  if (run.code !== 0) throw new Error(`register ${name}: exit ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { version: number; stage: string }).version;
}

/** A port nothing listens on: the edge is "down". */
export { freePort } from "@modelgate/infra/local-stack";
