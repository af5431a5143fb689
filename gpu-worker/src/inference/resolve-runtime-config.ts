import { clampToCawsTier, layerRuntimeConfig, type RuntimeConfig, type WorkerGenerateRequest } from "@modelgate/shared";

/**
 * Layers: worker base < the version's runtime_config < the request's runtime_config < the
 * request's top-level knobs; then the CAWS tier caps loops and latent spans.
 */
export function resolveRuntimeConfig(base: RuntimeConfig, request: WorkerGenerateRequest): RuntimeConfig {
  return clampToCawsTier(
    layerRuntimeConfig(base, request.target.runtime_config, request.runtime_config, {
      max_new_tokens: request.max_new_tokens,
      temperature: request.temperature,
    }),
  );
}
