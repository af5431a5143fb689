import { describe, expect, it } from "vitest";
import {
  CAWS_TIER_BUDGETS,
  type CawsTier,
  CawsTierSchema,
  clampToCawsTier,
  stricterTier,
  type TierBoundedBudget,
} from "../src/caws-tiers.js";
import { DEFAULT_RUNTIME_CONFIG, type RuntimeConfig } from "../src/runtime-config.js";

const TIERS: readonly CawsTier[] = CawsTierSchema.options;

function budget(
  caws_tier: CawsTier,
  max_refinement_loops: number,
  max_latent_spans: number,
  latent_mode_enabled: boolean,
): TierBoundedBudget {
  return { caws_tier, max_refinement_loops, max_latent_spans, latent_mode_enabled };
}

describe("CAWS tier table", () => {
  it("is seed 000's table", () => {
    expect(CAWS_TIER_BUDGETS).toEqual({
      tier_1: { maxRefinementLoops: 1, maxLatentSpans: 0 },
      tier_2: { maxRefinementLoops: 2, maxLatentSpans: 1 },
      tier_3: { maxRefinementLoops: 3, maxLatentSpans: 3 },
    });
  });

  it("has exactly three tiers", () => {
    expect(TIERS).toEqual(["tier_1", "tier_2", "tier_3"]);
    expect(CawsTierSchema.safeParse("tier_4").success).toBe(false);
    expect(CawsTierSchema.safeParse("tier_0").success).toBe(false);
  });
});

describe("clampToCawsTier", () => {
  it("clamps loops and spans to tier_1 and disables latent mode (0 spans)", () => {
    expect(clampToCawsTier(budget("tier_1", 10, 10, true))).toEqual(budget("tier_1", 1, 0, false));
  });

  it("clamps loops and spans to tier_2", () => {
    expect(clampToCawsTier(budget("tier_2", 10, 10, true))).toEqual(budget("tier_2", 2, 1, true));
  });

  it("clamps loops and spans to tier_3", () => {
    expect(clampToCawsTier(budget("tier_3", 16, 64, true))).toEqual(budget("tier_3", 3, 3, true));
  });

  it("disables latent mode whenever the clamped span budget is 0", () => {
    expect(clampToCawsTier(budget("tier_3", 3, 0, true)).latent_mode_enabled).toBe(false);
    expect(clampToCawsTier(budget("tier_2", 2, 0, true)).latent_mode_enabled).toBe(false);
  });

  it("never enables latent mode that was off", () => {
    for (const tier of TIERS) {
      expect(clampToCawsTier(budget(tier, 3, 3, false)).latent_mode_enabled).toBe(false);
    }
  });

  it("never raises values that are already inside the budget", () => {
    expect(clampToCawsTier(budget("tier_3", 2, 1, true))).toEqual(budget("tier_3", 2, 1, true));
    expect(clampToCawsTier(budget("tier_3", 1, 0, false))).toEqual(budget("tier_3", 1, 0, false));
    expect(clampToCawsTier(budget("tier_2", 1, 0, false))).toEqual(budget("tier_2", 1, 0, false));
  });

  it("never exceeds the tier budget and never raises an input, for every combination", () => {
    for (const tier of TIERS) {
      const limits = CAWS_TIER_BUDGETS[tier];
      for (let loops = 1; loops <= 6; loops++) {
        for (let spans = 0; spans <= 5; spans++) {
          for (const latent of [true, false]) {
            const out = clampToCawsTier(budget(tier, loops, spans, latent));
            expect(out.max_refinement_loops).toBe(Math.min(loops, limits.maxRefinementLoops));
            expect(out.max_latent_spans).toBe(Math.min(spans, limits.maxLatentSpans));
            expect(out.latent_mode_enabled).toBe(latent && out.max_latent_spans > 0);
            expect(out.caws_tier).toBe(tier);
          }
        }
      }
    }
  });

  it("keeps at least one refinement loop", () => {
    expect(clampToCawsTier(budget("tier_1", 0, 0, false)).max_refinement_loops).toBe(1);
    expect(clampToCawsTier(budget("tier_3", -5, 0, false)).max_refinement_loops).toBe(1);
  });

  it("keeps every other field of a full runtime config and does not mutate its input", () => {
    const config: RuntimeConfig = { ...DEFAULT_RUNTIME_CONFIG, caws_tier: "tier_1", latent_mode_enabled: true };
    const snapshot = structuredClone(config);
    const out = clampToCawsTier(config);
    expect(config).toEqual(snapshot);
    expect(out).toEqual({
      ...config,
      max_refinement_loops: 1,
      max_latent_spans: 0,
      latent_mode_enabled: false,
    });
    expect(out.temperature).toBe(config.temperature);
    expect(out.judge_score_threshold).toBe(config.judge_score_threshold);
  });
});

describe("stricterTier", () => {
  it("returns the lower tier in either order", () => {
    expect(stricterTier("tier_1", "tier_3")).toBe("tier_1");
    expect(stricterTier("tier_3", "tier_1")).toBe("tier_1");
    expect(stricterTier("tier_2", "tier_3")).toBe("tier_2");
    expect(stricterTier("tier_3", "tier_2")).toBe("tier_2");
    expect(stricterTier("tier_1", "tier_2")).toBe("tier_1");
    expect(stricterTier("tier_2", "tier_1")).toBe("tier_1");
  });

  it("returns the tier itself when both are equal", () => {
    for (const tier of TIERS) expect(stricterTier(tier, tier)).toBe(tier);
  });

  it("picks the tier with the smaller budget", () => {
    for (const a of TIERS) {
      for (const b of TIERS) {
        const s = stricterTier(a, b);
        const loops = CAWS_TIER_BUDGETS[s].maxRefinementLoops;
        expect(loops).toBe(Math.min(CAWS_TIER_BUDGETS[a].maxRefinementLoops, CAWS_TIER_BUDGETS[b].maxRefinementLoops));
      }
    }
  });
});
