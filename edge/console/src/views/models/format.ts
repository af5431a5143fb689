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

/** Up to 4 significant digits: metrics span 0.0002 to 5 000 000 and all should stay readable. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString();
  if (Math.abs(value) >= 1e-3) return String(Number(value.toPrecision(4)));
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
