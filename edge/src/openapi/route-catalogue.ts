import { z } from "zod";
import { analyticsRouteSpecs } from "./analytics-route-specs.js";
import { consoleRouteSpecs } from "./console-route-specs.js";
import { conversionRouteSpecs } from "./conversion-route-specs.js";
import { docsRouteSpecs } from "./docs-route-specs.js";
import { evaluationRouteSpecs } from "./evaluation-route-specs.js";
import { healthRouteSpecs } from "./health-route-specs.js";
import { inferenceRouteSpecs } from "./inference-route-specs.js";
import { keyRouteSpecs } from "./key-route-specs.js";
import { kserveRouteSpecs } from "./kserve-route-specs.js";
import { metricsRouteSpecs } from "./metrics-route-specs.js";
import { modelRouteSpecs } from "./model-route-specs.js";
import { openAiRouteSpecs } from "./openai-route-specs.js";
import { replicaTestRouteSpecs } from "./replica-test-route-specs.js";
import { rolloutRouteSpecs } from "./rollout-route-specs.js";
import type { RouteSpec } from "./route-spec.js";
import { seed004RouteSpecs } from "./seed-004-route-specs.js";
import { selectionRouteSpecs } from "./selection-route-specs.js";
import { uploadRouteSpecs } from "./upload-route-specs.js";
import { verificationRouteSpecs } from "./verification-route-specs.js";
import { workerRouteSpecs } from "./worker-route-specs.js";

export type { HttpMethod, ResponseSpec, RouteSpec } from "./route-spec.js";

/**
 * Every edge route, one family per file, in the order the docs show them. A route that is
 * mounted in `app.ts` but missing here fails `route-scope-matrix.test.ts`.
 */
export const ROUTE_CATALOGUE: readonly RouteSpec[] = [
  ...healthRouteSpecs,
  ...docsRouteSpecs,
  ...consoleRouteSpecs,
  ...inferenceRouteSpecs,
  ...kserveRouteSpecs,
  ...seed004RouteSpecs,
  ...openAiRouteSpecs,
  ...modelRouteSpecs,
  ...rolloutRouteSpecs,
  ...replicaTestRouteSpecs,
  ...uploadRouteSpecs,
  ...conversionRouteSpecs,
  ...evaluationRouteSpecs,
  ...verificationRouteSpecs,
  ...workerRouteSpecs,
  ...selectionRouteSpecs,
  ...keyRouteSpecs,
  ...analyticsRouteSpecs,
  ...metricsRouteSpecs,
];

/** The path with every `{param}` filled from its schema's first example (or `example`). */
export function examplePath(spec: RouteSpec): string {
  return spec.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
    const schema: z.ZodType | undefined = spec.pathParams?.shape[name];
    const examples = schema ? z.globalRegistry.get(schema)?.examples : undefined;
    const example = Array.isArray(examples) ? examples[0] : undefined;
    return encodeURIComponent(String(example ?? "example"));
  });
}
