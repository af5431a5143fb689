/**
 * Seed 002's rollback plan as runtime feature flags: each enhancement can be switched off
 * without a redeploy, and selection falls back to the simpler rule (see `selectRoute`).
 */
import { z } from "zod";

export const SelectionFlagsSchema = z.strictObject({
  /**
   * On: a version's model score is the weighted mean of its benchmark scores for the
   * category. Off: the Production version is preferred (then Staging, None, Archived), the
   * most recently promoted first.
   */
  benchmark_scoring: z.boolean().default(true),
  /**
   * On: any version listing the requested category is a candidate, weighed by seed 002's
   * confidence (0.95 / 0.9 / 0.7). Off: only versions whose primary category is the requested
   * one, without confidence.
   */
  multi_category: z.boolean().default(true),
  /**
   * On: GPU figures from heartbeats (free memory, utilization, temperature) and the aging
   * penalty count. Off: live workers only, shortest queue first, no GPU figures read.
   */
  gpu_awareness: z.boolean().default(true),
});
export type SelectionFlags = z.infer<typeof SelectionFlagsSchema>;

export const SELECTION_FLAG_NAMES = Object.keys(SelectionFlagsSchema.shape) as (keyof SelectionFlags)[];

export const DEFAULT_SELECTION_FLAGS: SelectionFlags = SelectionFlagsSchema.parse({});

/** A change to some flags (e.g. a `PATCH` body); absent flags keep their value. */
export const SelectionFlagsPatchSchema = z
  .strictObject({
    benchmark_scoring: z.boolean().optional(),
    multi_category: z.boolean().optional(),
    gpu_awareness: z.boolean().optional(),
  })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), "name at least one flag");
export type SelectionFlagsPatch = z.infer<typeof SelectionFlagsPatchSchema>;

export function applySelectionFlagsPatch(current: SelectionFlags, patch: SelectionFlagsPatch): SelectionFlags {
  return {
    benchmark_scoring: patch.benchmark_scoring ?? current.benchmark_scoring,
    multi_category: patch.multi_category ?? current.multi_category,
    gpu_awareness: patch.gpu_awareness ?? current.gpu_awareness,
  };
}

/** The flags that are off, for reason strings and logs ("" when all are on). */
export function describeDisabledFlags(flags: SelectionFlags): string {
  return SELECTION_FLAG_NAMES.filter((name) => !flags[name]).join(",");
}
