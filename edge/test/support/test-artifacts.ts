/**
 * The S3 the edge tests run against: s3rver, started by s3-server-setup.ts on the port the
 * vitest config chose (it must be known before miniflare's bindings are built).
 */
export const TEST_S3 = {
  bucket: "modelgate-models",
  region: "us-east-1",
  // s3rver's built-in account (it checks signatures, not identities).
  accessKeyId: "S3RVER",
  secretAccessKey: "S3RVER",
} as const;

/** Chosen by vitest.config.ts (so miniflare's bindings can carry it), read by s3-server-setup.ts. */
export const S3_PORT_VARIABLE = "MODELGATE_EDGE_TEST_S3_PORT";

/** Objects put into S3 before any test runs, so registrations from requests.ts verify. */
export const FIXTURE_ARTIFACT_CONTENT = {
  causalLm: "modelgate edge test artifact: causal-lm (stands in for demo-lm/model.onnx)\n".repeat(64),
  tensor: "modelgate edge test artifact: tensor (stands in for spirals/model.onnx)\n".repeat(32),
} as const;

export type FixtureArtifactName = keyof typeof FIXTURE_ARTIFACT_CONTENT;

export interface StoredTestArtifact {
  uri: string;
  sha256: string;
  bytes: number;
}

export const contentAddressedKey = (sha256: string) => `artifacts/sha256/${sha256}`;
