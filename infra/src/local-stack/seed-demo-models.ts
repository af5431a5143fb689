import {
  type BuiltReferenceModel,
  buildReferenceModels,
  hfTokenizerSpec,
  sha256Hex,
} from "@modelgate/gpu-worker/reference-models/index";
import {
  type ModelVersion,
  ModelViewSchema,
  RegisteredVersionSchema,
  type UploadArtifact,
  UploadResponseSchema,
} from "@modelgate/shared";

export interface SeededModel {
  name: string;
  version: number;
  sha256: string;
  /** True when this run uploaded/registered it; false when a previous run already had. */
  created: boolean;
}

export async function edgeJson(
  edgeUrl: string,
  adminKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const response = await fetch(`${edgeUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${adminKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 404 && method === "GET") return undefined;
  if (!response.ok) throw new Error(`${method} ${path} failed with ${response.status}: ${await response.text()}`);
  return response.json();
}

/**
 * Uploads through the edge as any client would: POST /v1/uploads, PUT each part to its
 * presigned S3 URL, then complete (the edge checks size and sha256). An artifact the edge has
 * already verified comes back `complete` at once, so a second start uploads nothing.
 */
export async function uploadArtifact(
  edgeUrl: string,
  adminKey: string,
  filename: string,
  bytes: Uint8Array,
  sha256: string = sha256Hex(bytes),
): Promise<UploadArtifact> {
  const upload = UploadResponseSchema.parse(
    await edgeJson(edgeUrl, adminKey, "POST", "/v1/uploads", {
      sha256,
      bytes: bytes.byteLength,
      filename,
      ...(filename.endsWith(".onnx") ? { format: "onnx" } : {}),
    }),
  );
  if (upload.status === "complete") return upload.artifact;
  const parts: Array<{ part_number: number; etag: string }> = [];
  for (const part of upload.parts) {
    const response = await fetch(part.url, {
      method: part.method,
      headers: part.headers ?? {},
      body: bytes.subarray(part.offset, part.offset + part.bytes),
    });
    if (!response.ok) throw new Error(`PUT of ${filename} part ${part.part_number} failed with ${response.status}`);
    await response.body?.cancel();
    parts.push({ part_number: part.part_number, etag: response.headers.get("etag") ?? "" });
  }
  const completion = upload.method === "multipart" ? { parts } : {};
  const completed = UploadResponseSchema.parse(
    await edgeJson(edgeUrl, adminKey, "POST", `/v1/uploads/${upload.id}/complete`, completion),
  );
  return completed.artifact;
}

/**
 * Seeds the demo models through the real path: build → upload through the edge (presigned S3
 * URLs, content-addressed, verified) → register with the edge → promote to Production. Idempotent: a model whose current
 * build is already in Production is left as it is, so a second `npm start` reuses state.
 */
export async function seedDemoModels(options: {
  edgeUrl: string;
  adminKey: string;
  /** Built already (the local stack builds them while its processes start); built here otherwise. */
  models?: readonly BuiltReferenceModel[];
}): Promise<SeededModel[]> {
  const seeded: SeededModel[] = [];
  for (const model of options.models ?? buildReferenceModels()) {
    const sha256 = sha256Hex(model.onnx);
    const existing = await edgeJson(options.edgeUrl, options.adminKey, "GET", `/v1/models/${model.name}`);
    // GET /v1/models/:name answers the record without its history (a ModelView).
    const record = existing === undefined ? undefined : ModelViewSchema.parse(existing);
    let version: ModelVersion | undefined = record?.versions.findLast((v) => v.artifact.sha256 === sha256);
    const created = version === undefined;
    if (!version) {
      const artifact = await uploadArtifact(
        options.edgeUrl,
        options.adminKey,
        `${model.name}.onnx`,
        model.onnx,
        sha256,
      );
      const tokenizer = await uploadTokenizerFiles(options.edgeUrl, options.adminKey, model);
      const registration = {
        ...model.registration,
        ...(tokenizer === undefined ? {} : { tokenizer }),
        artifact: { ...artifact, format: "onnx" },
      };
      version = RegisteredVersionSchema.parse(
        await edgeJson(options.edgeUrl, options.adminKey, "POST", `/v1/models/${model.name}/versions`, registration),
      );
    }
    if (version.stage !== "Production") {
      await edgeJson(
        options.edgeUrl,
        options.adminKey,
        "POST",
        `/v1/models/${model.name}/versions/${version.version}/stage`,
        {
          stage: "Production",
          reason: "demo model seeded by npm start",
        },
      );
    }
    seeded.push({ name: model.name, version: version.version, sha256, created });
  }
  return seeded;
}

/** A Hugging Face tokenizer's files go to object storage like the model; the registry records where. */
async function uploadTokenizerFiles(edgeUrl: string, adminKey: string, model: BuiltReferenceModel) {
  const files = model.tokenizerFiles;
  if (!files) return undefined;
  const tokenizerJson = await uploadArtifact(edgeUrl, adminKey, "tokenizer.json", files.tokenizerJson);
  const tokenizerConfigJson = await uploadArtifact(
    edgeUrl,
    adminKey,
    "tokenizer_config.json",
    files.tokenizerConfigJson,
  );
  return hfTokenizerSpec({ tokenizerJson, tokenizerConfigJson }, files.eosTokenIds);
}
