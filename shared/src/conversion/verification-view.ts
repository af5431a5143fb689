import { z } from "zod";
import { ConversionTargetSchema } from "./conversion-target.js";
import { ConvertedFormatSchema, SourceVerificationSchema } from "./converted-format.js";
import { ModelContractSchema } from "./model-contract.js";
import { SourceVerificationReportSchema, VerificationReportSchema } from "./verification-report.js";

/**
 * `GET /v1/models/:name/versions/:version/verification`: what the registry records about a
 * version's checks, with the stored reports and contract read back from object storage, so
 * `modelgate models verify` can print every gate. `null` source: never verified.
 */
export const VersionVerificationViewSchema = z.strictObject({
  model: z.string(),
  version: z.int().min(1),
  source: z
    .strictObject({
      summary: SourceVerificationSchema,
      report: SourceVerificationReportSchema.optional(),
      contract: ModelContractSchema.optional(),
    })
    .nullable(),
  formats: z.partialRecord(
    ConversionTargetSchema,
    z.strictObject({
      summary: ConvertedFormatSchema,
      report: VerificationReportSchema.optional(),
    }),
  ),
  serving_format: ConversionTargetSchema.optional(),
});
export type VersionVerificationView = z.infer<typeof VersionVerificationViewSchema>;
