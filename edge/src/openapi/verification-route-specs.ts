import { ModelNameSchema, VersionVerificationViewSchema } from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

export const verificationRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/v1/models/{name}/versions/{version}/verification",
    scope: "models:read",
    tag: "Conversions",
    summary: "A version's verification report",
    description:
      "The registry's record of the version's checks (seed 001 contract, shape enumeration, must/should/nice gates) " +
      "and of each converted format, with the stored reports and contract read back from object storage. " +
      "`source` is null for a version never verified.",
    pathParams: z.strictObject({
      name: ModelNameSchema.meta({ examples: ["ref-decoder"] }),
      version: z.string().meta({ examples: ["1"] }),
    }),
    responses: {
      200: {
        description: "The verification view.",
        schema: component("VersionVerificationView", VersionVerificationViewSchema),
      },
      ...problemResponses([404], { 404: "No live model with this name, or it has no such version." }),
    },
  },
];
