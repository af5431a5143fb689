import {
  clampToCawsTier,
  layerRuntimeConfig,
  type RuntimeConfig,
  stricterTier,
  type WorkerGenerateRequest,
} from "@modelgate/shared";

/**
 * Layers: worker base < the version's runtime_config < the request's runtime_config < the
 * request's top-level knobs; then the caller's key's tier cap (a ceiling, never a floor), and
 * the CAWS tier caps loops and latent spans.
 */
export function resolveRuntimeConfig(base: RuntimeConfig, request: WorkerGenerateRequest): RuntimeConfig {
  const layered = layerRuntimeConfig(base, request.target.runtime_config, request.runtime_config, {
    max_new_tokens: request.max_new_tokens,
    temperature: request.temperature,
  });
  const cap = request.caws_tier_cap;
  return clampToCawsTier(cap === undefined ? layered : { ...layered, caws_tier: stricterTier(layered.caws_tier, cap) });
}
