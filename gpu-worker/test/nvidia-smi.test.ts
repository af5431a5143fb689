import { GpuSnapshotSchema } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { parseNvidiaSmiLine, parseNvidiaSmiOutput } from "../src/gpu/nvidia-smi.js";

// Real output of `nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,utilization.memory,
// memory.used,memory.total,memory.free,temperature.gpu,power.draw,power.limit --format=csv,noheader,nounits`.
const H100 =
  "0, GPU-5c3e4f1a-8b2d-4c6e-9f0a-1b2c3d4e5f60, NVIDIA H100 80GB HBM3, 37, 12, 10240, 81559, 70731, 41, 118.42, 700.00";
const A10_IDLE = "1, GPU-0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9, NVIDIA A10G, 0, 0, 0, 23028, 22468, 27, 15.87, 300.00";
const MIG_OR_VGPU =
  "2, GPU-11111111-2222-3333-4444-555555555555, NVIDIA A100-SXM4-40GB, [N/A], [N/A], 13, 40960, 40396, 33, [Not Supported], [Not Supported]";

describe("parseNvidiaSmiLine", () => {
  it("reads every field of a real line", () => {
    const gpu = parseNvidiaSmiLine(H100);
    expect(gpu).toEqual({
      index: 0,
      uuid: "GPU-5c3e4f1a-8b2d-4c6e-9f0a-1b2c3d4e5f60",
      name: "NVIDIA H100 80GB HBM3",
      device: "cuda",
      utilization_gpu_pct: 37,
      utilization_memory_pct: 12,
      memory_used_mb: 10240,
      memory_total_mb: 81559,
      memory_free_mb: 70731,
      temperature_c: 41,
      power_draw_w: 118.42,
      power_limit_w: 700,
    });
    expect(GpuSnapshotSchema.safeParse(gpu).success).toBe(true);
  });

  it("turns [N/A] and [Not Supported] into null, never zero", () => {
    const gpu = parseNvidiaSmiLine(MIG_OR_VGPU);
    expect(gpu).toMatchObject({
      index: 2,
      utilization_gpu_pct: null,
      utilization_memory_pct: null,
      memory_used_mb: 13,
      power_draw_w: null,
      power_limit_w: null,
    });
    expect(GpuSnapshotSchema.safeParse(gpu).success).toBe(true);
  });

  it("tolerates extra whitespace and a trailing carriage return", () => {
    const gpu = parseNvidiaSmiLine(`  ${A10_IDLE.replaceAll(", ", " ,   ")}  \r`);
    expect(gpu).toMatchObject({ index: 1, name: "NVIDIA A10G", utilization_gpu_pct: 0, power_draw_w: 15.87 });
  });

  it("rejects lines with the wrong number of fields", () => {
    expect(parseNvidiaSmiLine("0, GPU-x, NVIDIA H100")).toBeUndefined();
    expect(
      parseNvidiaSmiLine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
    ).toBeUndefined();
  });
});

describe("parseNvidiaSmiOutput", () => {
  it("parses several GPUs and skips blank lines", () => {
    const result = parseNvidiaSmiOutput(`${H100}\n${A10_IDLE}\n${MIG_OR_VGPU}\n\n`);
    expect(result.ok && result.gpus.map((g) => g.index)).toEqual([0, 1, 2]);
  });

  it("fails on unexpected output or no GPUs", () => {
    expect(parseNvidiaSmiOutput("No devices were found\n").ok).toBe(false);
    expect(parseNvidiaSmiOutput("").ok).toBe(false);
  });
});
