import { env } from "cloudflare:test";
import { VerifiedArtifactRecordSchema } from "@modelgate/shared";
import { afterEach, describe, expect, it, vi } from "vitest";
import { onnxIoModel } from "./support/onnx-bytes.js";
import { ADMIN, call, expectProblem, putTestArtifact, resetEdge, tensorRegistration } from "./support/requests.js";

// Registration reads a version's io contract out of its ONNX file (while the edge hashes the
// artifact, or with range requests for an artifact verified before), and checks a declared one.

const IMAGE_IO = {
  inputs: [{ name: "image", dtype: "uint8" as const, shape: ["N", 3, "height", "width"] }],
  outputs: [
    { name: "logits", dtype: "float32" as const, shape: ["N", 10] },
    { name: "features", dtype: "float16" as const, shape: ["N", 64] },
  ],
};

async function register(name: string, body: Record<string, unknown>): Promise<Response> {
  return call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body });
}

function registrationWithout(io: "io", artifact: Awaited<ReturnType<typeof putTestArtifact>>) {
  const { [io]: _io, ...rest } = tensorRegistration({ artifact });
  return rest;
}

afterEach(async () => {
  vi.restoreAllMocks();
  await resetEdge();
});

describe("the io contract at registration", () => {
  it("is read out of the ONNX file when none is declared, and served as V2 metadata", async () => {
    const artifact = await putTestArtifact(onnxIoModel(IMAGE_IO, { weightBytes: 64 * 1024 }));
    const registered = await register("resnet", registrationWithout("io", artifact));
    expect(registered.status, await registered.clone().text()).toBe(201);
    expect(await registered.json()).toMatchObject({ io: IMAGE_IO, io_source: "artifact" });
    const metadata = await call("GET", "/v2/models/resnet/versions/1", { key: ADMIN });
    expect(await metadata.json()).toMatchObject({
      inputs: [{ name: "image", datatype: "UINT8", shape: [-1, 3, -1, -1] }],
      outputs: [
        { name: "logits", datatype: "FP32", shape: [-1, 10] },
        { name: "features", datatype: "FP16", shape: [-1, 64] },
        // One input and `logits`: a classifier, so V2 also offers each row's class.
        { name: "predictions", datatype: "INT64", shape: [-1] },
      ],
    });
  });

  it("keeps a declared contract that agrees with the file (fixing dimensions it leaves dynamic)", async () => {
    const artifact = await putTestArtifact(onnxIoModel(IMAGE_IO));
    const declared = {
      inputs: [{ name: "image", dtype: "uint8", shape: ["batch", 3, 224, 224] }],
      outputs: [{ name: "logits", dtype: "float32", shape: ["batch", 10] }],
    };
    const registered = await register("resnet", { ...registrationWithout("io", artifact), io: declared });
    expect(registered.status, await registered.clone().text()).toBe(201);
    expect(await registered.json()).toMatchObject({ io: declared, io_source: "artifact" });
  });

  it("refuses a declared contract that contradicts the file, naming each field", async () => {
    const artifact = await putTestArtifact(onnxIoModel(IMAGE_IO));
    const declared = {
      inputs: [{ name: "image", dtype: "float32", shape: ["N", 4, "h", "w"] }],
      outputs: [{ name: "probabilities", dtype: "float32", shape: ["N", 10] }],
    };
    const refused = await expectProblem(
      await register("resnet", { ...registrationWithout("io", artifact), io: declared }),
      422,
    );
    expect(refused.code).toBe("artifact_mismatch");
    expect(refused.errors?.map((e) => e.field)).toEqual([
      "io.inputs.0.dtype",
      "io.inputs.0.shape.1",
      "io.outputs.0.name",
    ]);
    expect(refused.detail).toContain("is float32, but the model file's input 'image' is uint8");
    expect((await call("GET", "/v1/models/resnet", { key: ADMIN })).status).toBe(404);
  });

  it("needs a declared contract when the file's graph cannot be read, and records it as declared", async () => {
    const artifact = await putTestArtifact("not an onnx file at all, just text\n".repeat(8));
    const missing = await expectProblem(await register("opaque", registrationWithout("io", artifact)), 400);
    expect(missing.errors?.map((e) => e.field)).toEqual(["io"]);
    expect(missing.detail).toContain("could not be read from the artifact");
    const declared = await register("opaque", tensorRegistration({ artifact }));
    expect(await declared.json()).toMatchObject({ io_source: "declared" });
  });

  it("reads the io once: an upload's completion records it, and registration uses the record", async () => {
    const bytes = onnxIoModel(IMAGE_IO);
    const sha256 = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) =>
      b.toString(16).padStart(2, "0"),
    ).join("");
    const upload = (await (
      await call("POST", "/v1/uploads", { key: ADMIN, body: { sha256, bytes: bytes.byteLength, format: "onnx" } })
    ).json()) as {
      id: string;
      parts: Array<{ url: string; headers?: Record<string, string> }>;
      artifact: { uri: string };
    };
    const [part] = upload.parts;
    if (!part) throw new Error("no part to upload");
    const put = await fetch(part.url, { method: "PUT", headers: part.headers ?? {}, body: bytes });
    expect(put.ok).toBe(true);
    expect((await call("POST", `/v1/uploads/${upload.id}/complete`, { key: ADMIN })).status).toBe(200);
    const record = VerifiedArtifactRecordSchema.parse(
      await (await env.REGISTRY.get(`registry/artifacts/${sha256}.json`))?.json(),
    );
    expect(record.onnx_io).toEqual({ io: IMAGE_IO, ir_version: 8 });
    const registered = await register(
      "resnet",
      registrationWithout("io", { uri: upload.artifact.uri, sha256, bytes: bytes.byteLength, format: "onnx" }),
    );
    expect(await registered.json()).toMatchObject({ io: IMAGE_IO, io_source: "artifact" });
  });

  it("reads an artifact verified before io was recorded with range requests that skip its weights", async () => {
    const weightBytes = 2 * 1024 * 1024;
    const bytes = onnxIoModel(IMAGE_IO, { weightBytes });
    const artifact = await putTestArtifact(bytes);
    // A record as edges wrote them before: verified, no onnx_io.
    await env.REGISTRY.put(
      `registry/artifacts/${artifact.sha256}.json`,
      JSON.stringify({
        uri: artifact.uri,
        sha256: artifact.sha256,
        bytes: artifact.bytes,
        verified_at: new Date().toISOString(),
      }),
    );
    const ranges: string[] = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      const request = new Request(input, init);
      const range = request.headers.get("range");
      if (range) ranges.push(range);
      return realFetch(input, init);
    });
    const registered = await register("resnet", registrationWithout("io", artifact));
    expect(registered.status, await registered.clone().text()).toBe(201);
    expect(await registered.json()).toMatchObject({ io: IMAGE_IO, io_source: "artifact" });
    const record = VerifiedArtifactRecordSchema.parse(
      await (await env.REGISTRY.get(`registry/artifacts/${artifact.sha256}.json`))?.json(),
    );
    expect(record.onnx_io).toEqual({ io: IMAGE_IO, ir_version: 8 });
    // The weights (2 MiB) were hopped over: a window at the start and one at the io.
    const fetched = ranges.map((range) => {
      const [from = 0, to = 0] = (/bytes=(\d+)-(\d+)/.exec(range) ?? []).slice(1).map(Number);
      return to - from + 1;
    });
    expect(ranges.length).toBeGreaterThanOrEqual(2);
    expect(fetched.reduce((a, b) => a + b, 0)).toBeLessThan(bytes.byteLength / 4);
  });
});
