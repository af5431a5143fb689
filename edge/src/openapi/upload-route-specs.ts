import {
  CompleteUploadRequestSchema,
  CreateUploadRequestSchema,
  UploadIdSchema,
  UploadResponseSchema,
} from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

/** Every upload answer: the session, with presigned PUTs while it is pending. */
export const UploadSchema = component("Upload", UploadResponseSchema);

const UploadIdParamsSchema = z.strictObject({
  id: UploadIdSchema.meta({ examples: ["upl_0123456789abcdef01234567"] }),
});

const storage = { 503: "Object storage is unreachable or not configured (the detail names the variable)." };

export const uploadRouteSpecs: readonly RouteSpec[] = [
  {
    method: "POST",
    path: "/v1/uploads",
    scope: "models:write",
    tag: "Artifact uploads",
    summary: "Start an artifact upload",
    description:
      "Content-addressed: the object key is `artifacts/sha256/<sha256>`. Answers presigned S3 PUT URLs (one, or " +
      "one per part above the multipart threshold), valid for `MODELGATE_UPLOAD_URL_TTL_SECONDS`. An artifact " +
      "already verified answers 200 `complete` with no parts.",
    body: component("CreateUploadRequest", CreateUploadRequestSchema),
    responses: {
      201: { description: "A pending session with the URLs to PUT to.", schema: UploadSchema },
      200: { description: "Already uploaded and verified: nothing to send.", schema: UploadSchema },
      ...problemResponses([422, 503], {
        422: "An artifact with this sha256 is stored with another size (`bytes`).",
        ...storage,
      }),
    },
  },
  {
    method: "GET",
    path: "/v1/uploads/{id}",
    scope: "models:write",
    tag: "Artifact uploads",
    summary: "Show an upload session",
    description: "A pending session comes with fresh presigned URLs for the rest of its life, to resume an upload.",
    pathParams: UploadIdParamsSchema,
    responses: {
      200: { description: "The session.", schema: UploadSchema },
      ...problemResponses([404, 503], { 404: "No upload with this id.", ...storage }),
    },
  },
  {
    method: "POST",
    path: "/v1/uploads/{id}/complete",
    scope: "models:write",
    tag: "Artifact uploads",
    summary: "Complete an upload",
    description:
      "Joins the parts (multipart: `parts` with every part's ETag), then checks size and sha256 by streaming the " +
      "object. A mismatch deletes the object and fails the session. Completing a complete session answers it again.",
    pathParams: UploadIdParamsSchema,
    body: component("CompleteUploadRequest", CompleteUploadRequestSchema),
    responses: {
      200: { description: "Verified: the artifact a version may reference.", schema: UploadSchema },
      ...problemResponses([404, 409, 422, 503], {
        404: "No upload with this id.",
        409: "The session expired (start a new upload) or S3 no longer knows the multipart upload.",
        422: "Nothing uploaded yet (`artifact_missing`), or size or sha256 differ (`artifact_mismatch`).",
        ...storage,
      }),
    },
  },
];
