import { env } from "cloudflare:test";
import { type UploadResponse, UploadResponseSchema, type UploadSession } from "@modelgate/shared";
import { afterEach, describe, expect, inject, it } from "vitest";
import { artifactStoreFromBindings } from "../src/artifacts/s3-artifact-store.js";
import { ADMIN, call, causalLmRegistration, expectProblem, resetEdge, WORKER_TOKEN } from "./support/requests.js";
import { contentAddressedKey } from "./support/test-artifacts.js";
import { deleteTestObject, getTestObject, putTestArtifact, putTestObject, sha256Of } from "./support/test-s3.js";

afterEach(() => resetEdge());

/** Content no other test uses, so each test starts without a verified record or object. */
function uniqueContent(bytes: number): Uint8Array {
  const content = new Uint8Array(bytes);
  crypto.getRandomValues(content.subarray(0, Math.min(bytes, 65_536)));
  for (let i = 65_536; i < bytes; i++) content[i] = i % 251;
  return content;
}

async function startUpload(content: Uint8Array, extra: Record<string, unknown> = {}): Promise<UploadResponse> {
  const response = await call("POST", "/v1/uploads", {
    key: ADMIN,
    body: { sha256: await sha256Of(content), bytes: content.byteLength, ...extra },
  });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return UploadResponseSchema.parse(JSON.parse(text));
}

/** What a client does with the answer: PUT each byte range to its presigned URL, in parallel. */
async function putParts(
  upload: UploadResponse,
  content: Uint8Array,
): Promise<Array<{ part_number: number; etag: string }>> {
  return Promise.all(
    upload.parts.map(async (part) => {
      const response = await fetch(part.url, {
        method: part.method,
        headers: part.headers ?? {},
        body: content.slice(part.offset, part.offset + part.bytes),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      await response.body?.cancel();
      return { part_number: part.part_number, etag: response.headers.get("etag") ?? "" };
    }),
  );
}

const complete = (id: string, body?: unknown) => call("POST", `/v1/uploads/${id}/complete`, { key: ADMIN, body });

async function createKey(scopes: string[]): Promise<string> {
  const response = await call("POST", "/v1/keys", { key: ADMIN, body: { name: `k-${scopes.join("-")}`, scopes } });
  expect(response.status).toBe(201);
  return ((await response.json()) as { key: string }).key;
}

describe("POST /v1/uploads → PUT → complete", () => {
  it("uploads a small file with one presigned PUT and verifies it; a version can then reference it", async () => {
    const content = uniqueContent(3000);
    const sha256 = await sha256Of(content);
    const upload = await startUpload(content, { filename: "model.onnx", format: "onnx" });
    expect(upload).toMatchObject({
      status: "pending",
      method: "single",
      artifact: { uri: `s3://modelgate-models/artifacts/sha256/${sha256}`, sha256, bytes: 3000 },
      filename: "model.onnx",
      format: "onnx",
    });
    expect(upload.id).toMatch(/^upl_[0-9a-f]{24}$/);
    expect(Date.parse(upload.expires_at ?? "") - Date.now()).toBeGreaterThan(3500 * 1000);
    expect(upload.parts).toHaveLength(1);
    const url = new URL(upload.parts[0]?.url ?? "");
    expect(url.origin).toBe(inject("s3Endpoint"));
    expect(url.searchParams.get("X-Amz-Expires")).toBe("3600");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toContain("x-amz-checksum-sha256");
    expect(upload.parts[0]?.headers?.["x-amz-checksum-sha256"]).toBe(
      btoa(String.fromCharCode(...(sha256.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)))),
    );

    await putParts(upload, content);
    const completed = await complete(upload.id);
    expect(completed.status).toBe(200);
    expect(await completed.json()).toMatchObject({
      id: upload.id,
      status: "complete",
      artifact: upload.artifact,
      parts: [],
    });
    expect(await getTestObject(contentAddressedKey(sha256))).toEqual(content);

    const status = await call("GET", `/v1/uploads/${upload.id}`, { key: ADMIN });
    expect(await status.json()).toMatchObject({ status: "complete", parts: [] });

    const registered = await call("POST", "/v1/models/uploaded/versions", {
      key: ADMIN,
      body: causalLmRegistration({ artifact: { ...upload.artifact, format: "onnx" } }),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
  });

  it("splits a file above the threshold into presigned multipart PUTs and joins them on completion", async () => {
    const content = uniqueContent(9000);
    const upload = await startUpload(content);
    expect(upload).toMatchObject({ method: "multipart", part_size: 2048 });
    expect(upload.parts.map((p) => [p.part_number, p.offset, p.bytes])).toEqual([
      [1, 0, 2048],
      [2, 2048, 2048],
      [3, 4096, 2048],
      [4, 6144, 2048],
      [5, 8192, 808],
    ]);
    expect(new URL(upload.parts[2]?.url ?? "").searchParams.get("partNumber")).toBe("3");
    const etags = await putParts(upload, content);

    const partial = await expectProblem(await complete(upload.id, { parts: etags.slice(1) }), 400);
    expect(partial.errors?.[0]?.field).toBe("parts");
    const none = await expectProblem(await complete(upload.id), 400);
    expect(none.errors?.[0]?.field).toBe("parts");

    const completed = await complete(upload.id, { parts: etags });
    expect(completed.status, await completed.clone().text()).toBe(200);
    expect(await getTestObject(contentAddressedKey(upload.artifact.sha256))).toEqual(content);
    // Completing again answers the same, without touching S3's (now finished) multipart upload.
    const again = await complete(upload.id, { parts: etags });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: "complete", artifact: upload.artifact });
  });

  it("deduplicates: an artifact already verified needs no upload", async () => {
    const content = uniqueContent(1000);
    const first = await startUpload(content);
    await putParts(first, content);
    expect((await complete(first.id)).status).toBe(200);

    const response = await call("POST", "/v1/uploads", {
      key: ADMIN,
      body: { sha256: first.artifact.sha256, bytes: 1000 },
    });
    expect(response.status).toBe(200);
    const body = UploadResponseSchema.parse(await response.json());
    expect(body).toMatchObject({ status: "complete", artifact: first.artifact, parts: [] });
    expect(body.id).not.toBe(first.id);
    expect((await complete(body.id)).status).toBe(200);

    const lying = await expectProblem(
      await call("POST", "/v1/uploads", { key: ADMIN, body: { sha256: first.artifact.sha256, bytes: 999 } }),
      422,
    );
    expect(lying).toMatchObject({ code: "artifact_mismatch", errors: [{ field: "bytes" }] });
  });
});

describe("completion refuses what does not match", () => {
  it("a different sha256 → 422 naming sha256, the object deleted and the session failed", async () => {
    const declared = uniqueContent(2000);
    const sent = uniqueContent(2000);
    const upload = await startUpload(declared);
    await putParts(upload, sent);
    const key = contentAddressedKey(upload.artifact.sha256);
    expect(await getTestObject(key)).toEqual(sent);

    const problem = await expectProblem(await complete(upload.id), 422);
    expect(problem).toMatchObject({ code: "artifact_mismatch", errors: [{ field: "sha256" }] });
    expect(await getTestObject(key)).toBeUndefined();
    const status = await call("GET", `/v1/uploads/${upload.id}`, { key: ADMIN });
    expect(await status.json()).toMatchObject({ status: "failed", failure: { code: "artifact_mismatch" } });
    // A retried completion answers the same error.
    expect((await expectProblem(await complete(upload.id), 422)).code).toBe("artifact_mismatch");
  });

  it("a different size → 422 naming bytes, the object deleted", async () => {
    const content = uniqueContent(1500);
    const upload = await startUpload(content);
    await putParts(upload, content.slice(0, 1400));
    const problem = await expectProblem(await complete(upload.id), 422);
    expect(problem).toMatchObject({ code: "artifact_mismatch", errors: [{ field: "bytes" }] });
    expect(await getTestObject(contentAddressedKey(upload.artifact.sha256))).toBeUndefined();
  });

  it("nothing uploaded yet → 422 artifact_missing; the session stays pending with fresh URLs", async () => {
    const content = uniqueContent(500);
    const upload = await startUpload(content);
    const problem = await expectProblem(await complete(upload.id), 422);
    expect(problem.code).toBe("artifact_missing");
    expect(problem.detail).toContain("PUT the file");
    const status = UploadResponseSchema.parse(
      await (await call("GET", `/v1/uploads/${upload.id}`, { key: ADMIN })).json(),
    );
    expect(status.status).toBe("pending");
    expect(status.parts).toHaveLength(1);
    // The URLs from GET work too.
    await putParts(status, content);
    expect((await complete(upload.id)).status).toBe(200);
  });

  it("an expired session → 409 on completion and `expired` on GET", async () => {
    const content = uniqueContent(100);
    const sha256 = await sha256Of(content);
    const id = "upl_0123456789abcdef01234567";
    const session: UploadSession = {
      id,
      status: "pending",
      method: "single",
      artifact: { uri: `s3://modelgate-models/${contentAddressedKey(sha256)}`, sha256, bytes: 100 },
      created_at: new Date(Date.now() - 7200_000).toISOString(),
      created_by: "admin",
      expires_at: new Date(Date.now() - 3600_000).toISOString(),
    };
    await env.REGISTRY.put(`registry/uploads/${id}.json`, JSON.stringify(session));
    expect(await (await call("GET", `/v1/uploads/${id}`, { key: ADMIN })).json()).toMatchObject({
      status: "expired",
      parts: [],
    });
    const problem = await expectProblem(await complete(id), 409);
    expect(problem.detail).toContain("POST /v1/uploads");
  });
});

describe("upload request validation", () => {
  it.each([
    ["a malformed sha256", { sha256: "xyz", bytes: 10 }, "sha256"],
    ["zero bytes", { sha256: "c".repeat(64), bytes: 0 }, "bytes"],
    ["a filename with a slash", { sha256: "c".repeat(64), bytes: 10, filename: "../x" }, "filename"],
    ["an unknown format", { sha256: "c".repeat(64), bytes: 10, format: "gguf" }, "format"],
    ["an unknown field", { sha256: "c".repeat(64), bytes: 10, bucket: "other" }, ""],
  ])("refuses %s, naming the field", async (_what, body, field) => {
    const problem = await expectProblem(await call("POST", "/v1/uploads", { key: ADMIN, body }), 400);
    expect(problem.code).toBe("validation_failed");
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it("refuses a body that is not JSON", async () => {
    await expectProblem(
      await call("POST", "/v1/uploads", { key: ADMIN, rawBody: "sha256=x", headers: { "content-type": "text/plain" } }),
      415,
    );
  });

  it("unknown ids are 404; malformed ids (path traversal included) are 400 naming id", async () => {
    const unknown = await expectProblem(
      await call("GET", "/v1/uploads/upl_ffffffffffffffffffffffff", { key: ADMIN }),
      404,
    );
    expect(unknown.code).toBe("not_found");
    await expectProblem(await complete("upl_ffffffffffffffffffffffff"), 404);
    for (const id of ["..%2F..%2Fkeys", "upl_..%2Fx", "UPL_FFFFFFFFFFFFFFFFFFFFFFFF"]) {
      const problem = await expectProblem(await call("GET", `/v1/uploads/${id}`, { key: ADMIN }), 400);
      expect(problem.errors?.[0]?.field).toBe("id");
      await expectProblem(await complete(id), 400);
    }
  });
});

describe("upload security", () => {
  const body = { sha256: "d".repeat(64), bytes: 10 };
  const routes: Array<[string, string]> = [
    ["POST", "/v1/uploads"],
    ["GET", "/v1/uploads/upl_ffffffffffffffffffffffff"],
    ["POST", "/v1/uploads/upl_ffffffffffffffffffffffff/complete"],
  ];

  it("every route needs a key (401)", async () => {
    for (const [method, path] of routes) {
      const problem = await expectProblem(await call(method, path, method === "GET" ? {} : { body }), 401);
      expect(problem.code).toBe("unauthorized");
    }
  });

  it("every route needs models:write (403 for read-only, infer and worker keys)", async () => {
    const keys = [await createKey(["models:read"]), await createKey(["infer"]), WORKER_TOKEN];
    for (const key of keys) {
      for (const [method, path] of routes) {
        const request = method === "GET" ? { key } : { key, body };
        expect((await expectProblem(await call(method, path, request), 403)).code).toBe("forbidden");
      }
    }
  });

  it("a models:write key may upload", async () => {
    const key = await createKey(["models:write"]);
    const content = uniqueContent(64);
    const response = await call("POST", "/v1/uploads", {
      key,
      body: { sha256: await sha256Of(content), bytes: 64 },
    });
    expect(response.status).toBe(201);
  });
});

describe("S3ArtifactStore.verify", () => {
  const store = () => artifactStoreFromBindings(env);

  it("accepts a stored object with the declared size and sha256, then answers from its record", async () => {
    const artifact = await putTestArtifact(uniqueContent(700));
    expect(await store().verify(artifact)).toEqual({ ok: true, value: undefined });
    expect(await store().verified.find(artifact)).toBeDefined();
    // With the record in place, the object is not read again.
    await deleteTestObject(contentAddressedKey(artifact.sha256));
    expect((await store().verify(artifact)).ok).toBe(true);
  });

  it("missing → artifact_missing naming artifact.uri and saying how to upload", async () => {
    const sha256 = "e".repeat(64);
    const result = await store().verify({
      uri: `s3://modelgate-models/${contentAddressedKey(sha256)}`,
      sha256,
      bytes: 5,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("artifact_missing");
    expect(result.error.status).toBe(422);
    expect(result.error.message).toContain("modelgate models upload");
    expect(result.error.fieldErrors?.[0]?.field).toBe("artifact.uri");
  });

  it("wrong size → artifact.bytes; wrong sha256 → artifact.sha256 (any key in the bucket)", async () => {
    const content = uniqueContent(300);
    const uri = await putTestObject("legacy/model.onnx", content);
    const sha256 = await sha256Of(content);
    const size = await store().verify({ uri, sha256, bytes: 301 });
    expect(size.ok || size.error.fieldErrors?.[0]?.field).toBe("artifact.bytes");
    const digest = await store().verify({ uri, sha256: "f".repeat(64), bytes: 300 });
    expect(digest.ok || [digest.error.code, digest.error.fieldErrors?.[0]?.field]).toEqual([
      "artifact_mismatch",
      "artifact.sha256",
    ]);
    expect((await store().verify({ uri, sha256, bytes: 300 })).ok).toBe(true);
  });

  it("another bucket → artifact_mismatch naming artifact.uri", async () => {
    const result = await store().verify({ uri: "s3://someone-else/model.onnx", sha256: "e".repeat(64), bytes: 5 });
    expect(result.ok || [result.error.code, result.error.fieldErrors?.[0]?.field]).toEqual([
      "artifact_mismatch",
      "artifact.uri",
    ]);
  });

  it("unreachable S3 → storage_unavailable (503); misconfiguration names the variable", async () => {
    const unreachable = artifactStoreFromBindings({ ...env, MODELGATE_S3_ENDPOINT: "http://127.0.0.1:1" });
    const result = await unreachable.verify({ ...(await putTestArtifact(uniqueContent(10))) });
    expect(result.ok || [result.error.code, result.error.status]).toEqual(["storage_unavailable", 503]);
    expect(() => artifactStoreFromBindings({ ...env, MODELGATE_S3_BUCKET: undefined })).toThrow(/MODELGATE_S3_BUCKET/);
    expect(() => artifactStoreFromBindings({ ...env, MODELGATE_S3_SECRET_ACCESS_KEY: "" })).toThrow(
      /MODELGATE_S3_SECRET_ACCESS_KEY/,
    );
  });

  it("purge deletes the object and its record, and is idempotent", async () => {
    const artifact = await putTestArtifact(uniqueContent(200));
    expect((await store().verify(artifact)).ok).toBe(true);
    expect(await store().purge(artifact)).toEqual({ ok: true, value: undefined });
    expect(await getTestObject(contentAddressedKey(artifact.sha256))).toBeUndefined();
    expect(await store().verified.get(artifact.sha256)).toBeUndefined();
    expect((await store().purge(artifact)).ok).toBe(true);
    expect((await store().verify(artifact)).ok).toBe(false);
  });
});
