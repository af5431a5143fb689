import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { buildReferenceModels, sha256Hex } from "@modelgate/gpu-worker/reference-models/index";
import { type ModelRecord, ModelRecordSchema, type ModelVersion, ModelVersionSchema } from "@modelgate/shared";
import type { LocalS3Server } from "./local-s3-server.js";

export interface SeededModel {
  name: string;
  version: number;
  sha256: string;
  /** True when this run uploaded/registered it; false when a previous run already had. */
  created: boolean;
}

async function edgeJson(
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

async function uploadIfMissing(s3: S3Client, bucket: string, key: string, bytes: Uint8Array): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return;
  } catch {
    // Not there yet: upload below.
  }
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: "application/octet-stream" }),
  );
}

/**
 * Seeds the demo models through the real path: build → upload to S3 under a content-addressed
 * key → register with the edge → promote to Production. Idempotent: a model whose current
 * build is already in Production is left as it is, so a second `npm start` reuses state.
 */
export async function seedDemoModels(options: {
  edgeUrl: string;
  adminKey: string;
  s3: LocalS3Server;
}): Promise<SeededModel[]> {
  const s3 = new S3Client({
    endpoint: options.s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: options.s3.accessKeyId, secretAccessKey: options.s3.secretAccessKey },
  });
  const seeded: SeededModel[] = [];
  try {
    for (const model of buildReferenceModels()) {
      const sha256 = sha256Hex(model.onnx);
      const existing = (await edgeJson(options.edgeUrl, options.adminKey, "GET", `/v1/models/${model.name}`)) as
        | ModelRecord
        | undefined;
      const record = existing === undefined ? undefined : ModelRecordSchema.parse(existing);
      let version: ModelVersion | undefined = record?.versions.findLast((v) => v.artifact.sha256 === sha256);
      const created = version === undefined;
      if (!version) {
        const key = `models/${model.name}/${sha256}.onnx`;
        await uploadIfMissing(s3, options.s3.bucket, key, model.onnx);
        const registration = {
          ...model.registration,
          artifact: { uri: `s3://${options.s3.bucket}/${key}`, sha256, bytes: model.onnx.byteLength, format: "onnx" },
        };
        version = ModelVersionSchema.parse(
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
  } finally {
    s3.destroy();
  }
  return seeded;
}
