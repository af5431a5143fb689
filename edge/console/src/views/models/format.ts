/** Small formatting rules the models views share: stage badges, numbers, sizes and label lists. */
import type { Stage } from "@modelgate/shared";

export const STAGES: readonly Stage[] = ["None", "Staging", "Production", "Archived"];
export const MODEL_KINDS = ["causal-lm", "tensor", "scorer"] as const;
export const TARGETS = ["fp16", "int8", "int4"] as const;
export type Target = (typeof TARGETS)[number];

/** Production reads as healthy, Staging as on its way, Archived as out of service. */
export function stageTone(stage: string): "ok" | "warn" | "bad" | "" {
  if (stage === "Production") return "ok";
  if (stage === "Staging") return "warn";
  if (stage === "Archived" || stage === "Deleted") return "bad";
  return "";
}

/**
 * Six significant digits, as the gates' own detail text prints them: agreement and cosine figures
 * sit just under 1, where four digits would round 0.99992 to a misleading 1.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // Integers as they are: a seed or a size reads wrong with grouping (counts group where shown).
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) >= 1e-3) return String(Number(value.toPrecision(6)));
  return value.toExponential(2);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatPercent(share: number): string {
  return `${(share * 100).toFixed(share >= 0.999 && share < 1 ? 2 : 1)} %`;
}

/** "a, b c" → ["a", "b", "c"]: tags and shapes are typed as one line. */
export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** `demo-lm@2`, the way model references name a version everywhere else. */
export function versionLabel(name: string, version: number | string): string {
  return `${name}@${version}`;
}
