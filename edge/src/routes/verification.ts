import {
  type ConversionTarget,
  ModelContractSchema,
  type ModelFile,
  SourceVerificationReportSchema,
  VerificationReportSchema,
  type VersionVerificationView,
} from "@modelgate/shared";
import { Hono } from "hono";
import type { z } from "zod";
import { artifactStoreFromBindings } from "../artifacts/s3-artifact-store.js";
import type { AppEnv, EdgeBindings } from "../env.js";
import { requireScope } from "../middleware/authenticate.js";
import { modelNameParam, requireLiveModel, resolveVersionParam } from "../registry/registry-access.js";

/** Reports are small JSON files; anything bigger is not one of ours. */
const MAX_REPORT_BYTES = 1024 * 1024;

/**
 * Reads one pipeline file back from object storage. A file that is missing or unreadable
 * leaves its part of the view out (the registry's summary still says what passed): a report
 * is evidence to show, not something a read should fail on.
 */
async function readStoredJson<S extends z.ZodType>(
  env: EdgeBindings,
  file: ModelFile | undefined,
  schema: S,
): Promise<z.output<S> | undefined> {
  if (file === undefined || file.bytes > MAX_REPORT_BYTES) return undefined;
  const store = artifactStoreFromBindings(env);
  const key = store.keyFromUri(file.uri);
  if (!key.ok) return undefined;
  const stream = await store.s3.getStream(key.value);
  if (!stream.ok || stream.value === undefined) return undefined;
  try {
    const parsed = schema.safeParse(await new Response(stream.value).json());
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `GET /v1/models/:name/versions/:version/verification`: what `modelgate models verify` prints. */
export const verificationRoutes = new Hono<AppEnv>().get(
  "/v1/models/:name/versions/:version/verification",
  requireScope("models:read"),
  async (c) => {
    const record = await requireLiveModel(c.env, modelNameParam(c));
    const version = resolveVersionParam(c, record);
    const summary = version.verification;
    const [report, contract] = summary
      ? await Promise.all([
          readStoredJson(c.env, summary.files.verification_report, SourceVerificationReportSchema),
          readStoredJson(c.env, summary.files.contract, ModelContractSchema),
        ])
      : [undefined, undefined];
    const formats: VersionVerificationView["formats"] = {};
    for (const [target, format] of Object.entries(version.converted_formats ?? {})) {
      if (format === undefined) continue;
      const formatReport = await readStoredJson(c.env, format.files.verification_report, VerificationReportSchema);
      formats[target as ConversionTarget] = { summary: format, ...(formatReport ? { report: formatReport } : {}) };
    }
    const view: VersionVerificationView = {
      model: version.name,
      version: version.version,
      source: summary ? { summary, ...(report ? { report } : {}), ...(contract ? { contract } : {}) } : null,
      formats,
      ...(version.serving_format ? { serving_format: version.serving_format } : {}),
    };
    return c.json(view);
  },
);
