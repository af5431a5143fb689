/**
 * Calls signed straight to the GPU worker, as the edge sends them (the public request plus the
 * resolved `target` version), so a benchmark measures the worker and not the edge's routing.
 */
import {
  type GenerateRequest,
  type GenerateResponse,
  GenerateResponseSchema,
  type ModelVersion,
  ModelVersionSchema,
  signRequest,
  VersionWithAliasesSchema,
} from "@modelgate/shared";

export interface WorkerHealth {
  in_flight: number;
  queue_depth: number;
  process: { rss_mb: number; peak_rss_mb: number };
}

export interface WorkerClient {
  /** The resolved version the requests carry. */
  target: ModelVersion;
  generate(request: GenerateRequest): Promise<GenerateResponse>;
  health(): Promise<WorkerHealth>;
}

export interface StackAddresses {
  edgeUrl: string;
  workerUrl: string;
  adminKey: string;
  signingSecret: string;
  /** The id of the worker at `workerUrl`: the edge signs each request for one worker. */
  workerId: string;
}

/** Resolves `model@version` through the edge once, then signs each generate request to the worker. */
export async function createWorkerClient(stack: StackAddresses, model: string, version = 1): Promise<WorkerClient> {
  const response = await fetch(`${stack.edgeUrl}/v1/models/${model}/versions/${version}`, {
    headers: { authorization: `Bearer ${stack.adminKey}` },
  });
  if (!response.ok) throw new Error(`GET ${model}@${version}: ${response.status} ${await response.text()}`);
  // The edge answers the version with the aliases pointing at it; the worker takes the version alone.
  const { aliases: _aliases, ...versionOnly } = VersionWithAliasesSchema.parse(await response.json());
  const target = ModelVersionSchema.parse(versionOnly);
  return {
    target,
    async generate(request) {
      const body = JSON.stringify({ ...request, target });
      const signature = await signRequest(stack.signingSecret, {
        method: "POST",
        pathWithQuery: "/v1/generate",
        body,
        workerId: stack.workerId,
      });
      const answer = await fetch(`${stack.workerUrl}/v1/generate`, {
        method: "POST",
        headers: { "content-type": "application/json", ...signature },
        body,
      });
      if (!answer.ok) throw new Error(`worker generate failed: ${answer.status} ${await answer.text()}`);
      return GenerateResponseSchema.parse(await answer.json());
    },
    async health() {
      const answer = await fetch(`${stack.workerUrl}/health`);
      if (!answer.ok) throw new Error(`worker /health: ${answer.status}`);
      return (await answer.json()) as WorkerHealth;
    },
  };
}
