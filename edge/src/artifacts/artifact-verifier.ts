import type { Artifact, OnnxIoReading, Result } from "@modelgate/shared";

/**
 * Checks, before a version may reference it, that an artifact exists in object storage with
 * exactly the declared size and sha256. The registry calls this on every registration; the
 * S3 implementation records verified artifacts so a re-check is one small read.
 */
export interface ArtifactVerifier {
  verify(artifact: Pick<Artifact, "uri" | "sha256" | "bytes">): Promise<Result<void>>;
  /** `verify`, plus what the artifact's ONNX graph takes and returns (read once, then recorded). */
  verifyAndReadIo(artifact: Pick<Artifact, "uri" | "sha256" | "bytes">): Promise<Result<OnnxIoReading>>;
}

/**
 * Deletes an object from storage (`purge=true` on delete: an artifact, converted artifact or
 * pipeline file). Only called after the registry has checked that no remaining version
 * references the same sha256.
 */
export interface ArtifactPurger {
  purge(artifact: Pick<Artifact, "uri" | "sha256">): Promise<Result<void>>;
}
