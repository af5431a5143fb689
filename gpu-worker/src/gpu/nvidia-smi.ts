/** Parsing of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits` output into GPU snapshots. */
import type { GpuSnapshot } from "@modelgate/shared";

/** The query fields, in the order the parser expects them. */
export const NVIDIA_SMI_QUERY_FIELDS = [
  "index",
  "uuid",
  "name",
  "utilization.gpu",
  "utilization.memory",
  "memory.used",
  "memory.total",
  "memory.free",
  "temperature.gpu",
  "power.draw",
  "power.limit",
] as const;

export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_QUERY_FIELDS.join(",")}`,
  "--format=csv,noheader,nounits",
];

export type NvidiaSmiParseResult = { ok: true; gpus: GpuSnapshot[] } | { ok: false; reason: string };

/**
 * A reading nvidia-smi could not take (`[N/A]`, `[Not Supported]`, `N/A`, `[Unknown Error]`)
 * is null: a made-up zero would look like an idle GPU to the router.
 */
function reading(field: string | undefined, min?: number, max?: number): number | null {
  if (field === undefined) return null;
  const text = field.trim();
  if (text === "" || /^\[.*\]$/.test(text) || /^n\/?a$/i.test(text)) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  if (min !== undefined && value < min) return null;
  if (max !== undefined && value > max) return max;
  return value;
}

export function parseNvidiaSmiLine(line: string): GpuSnapshot | undefined {
  const fields = line.split(",").map((f) => f.trim());
  if (fields.length !== NVIDIA_SMI_QUERY_FIELDS.length) return undefined;
  const [index, uuid, name, utilGpu, utilMemory, memUsed, memTotal, memFree, temperature, powerDraw, powerLimit] =
    fields;
  const gpuIndex = reading(index, 0);
  if (gpuIndex === null || !Number.isInteger(gpuIndex)) return undefined;
  return {
    index: gpuIndex,
    uuid: uuid && !/^\[.*\]$/.test(uuid) ? uuid : `gpu-${gpuIndex}`,
    name: name && !/^\[.*\]$/.test(name) ? name : "unknown GPU",
    device: "cuda",
    utilization_gpu_pct: reading(utilGpu, 0, 100),
    utilization_memory_pct: reading(utilMemory, 0, 100),
    memory_used_mb: reading(memUsed, 0),
    memory_total_mb: reading(memTotal, 0),
    memory_free_mb: reading(memFree, 0),
    temperature_c: reading(temperature),
    power_draw_w: reading(powerDraw, 0),
    power_limit_w: reading(powerLimit, 0),
  };
}

/** Parses the whole output; blank lines are skipped, any other unparseable line fails the sample. */
export function parseNvidiaSmiOutput(stdout: string): NvidiaSmiParseResult {
  const gpus: GpuSnapshot[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const gpu = parseNvidiaSmiLine(line);
    if (!gpu) return { ok: false, reason: `unexpected nvidia-smi line: ${JSON.stringify(line.slice(0, 200))}` };
    gpus.push(gpu);
  }
  if (gpus.length === 0) return { ok: false, reason: "nvidia-smi listed no GPUs" };
  return { ok: true, gpus };
}
