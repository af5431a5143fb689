import { z } from "zod";

/** Seed 000's CAWS budget tiers: the ceiling on refinement loops and latent spans. */
export const CawsTierSchema = z.enum(["tier_1", "tier_2", "tier_3"]);
export type CawsTier = z.infer<typeof CawsTierSchema>;

export interface CawsTierBudget {
  maxRefinementLoops: number;
  maxLatentSpans: number;
}

export const CAWS_TIER_BUDGETS: Readonly<Record<CawsTier, CawsTierBudget>> = {
  tier_1: { maxRefinementLoops: 1, maxLatentSpans: 0 },
  tier_2: { maxRefinementLoops: 2, maxLatentSpans: 1 },
  tier_3: { maxRefinementLoops: 3, maxLatentSpans: 3 },
};

const TIER_ORDER: readonly CawsTier[] = ["tier_1", "tier_2", "tier_3"];

/** The stricter of two tiers: an API key's maximum tier caps whatever a request asks for. */
export function stricterTier(a: CawsTier, b: CawsTier): CawsTier {
  return TIER_ORDER.indexOf(a) <= TIER_ORDER.indexOf(b) ? a : b;
}

export interface TierBoundedBudget {
  caws_tier: CawsTier;
  max_refinement_loops: number;
  max_latent_spans: number;
  latent_mode_enabled: boolean;
}

/**
 * Clamps a configuration's loop and latent budgets to its tier. Latent mode is switched
 * off when the tier allows no latent spans, so a tier_1 request never reasons in latents.
 */
export function clampToCawsTier<T extends TierBoundedBudget>(config: T): T {
  const budget = CAWS_TIER_BUDGETS[config.caws_tier];
  const maxLatentSpans = Math.min(config.max_latent_spans, budget.maxLatentSpans);
  return {
    ...config,
    max_refinement_loops: Math.max(1, Math.min(config.max_refinement_loops, budget.maxRefinementLoops)),
    max_latent_spans: maxLatentSpans,
    latent_mode_enabled: config.latent_mode_enabled && maxLatentSpans > 0,
  };
}
