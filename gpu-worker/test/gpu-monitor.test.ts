import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GpuSnapshotSchema } from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { createGpuMonitor, type GpuMonitor } from "../src/gpu/gpu-monitor.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A directory holding a fake `nvidia-smi` that prints real-format CSV, to put first on PATH. */
async function fakeNvidiaSmiDir(csv: string, extraScript = ""): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fake-nvidia-smi-"));
  const script = `#!/bin/sh\n${extraScript}\ncat <<'CSV'\n${csv}\nCSV\n`;
  await writeFile(join(dir, "nvidia-smi"), script);
  await chmod(join(dir, "nvidia-smi"), 0o755);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function startMonitor(env: NodeJS.ProcessEnv, intervalMs = 1000): GpuMonitor {
  const monitor = createGpuMonitor({ intervalMs, env });
  cleanups.push(() => monitor.stop());
  return monitor;
}

const TWO_GPUS = [
  "0, GPU-aaaaaaaa-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 87, 40, 60000, 81559, 21559, 66, 512.30, 700.00",
  "1, GPU-bbbbbbbb-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, [N/A], [N/A], 1024, 81559, 80535, 35, [Not Supported], 700.00",
].join("\n");

describe("GPU monitor", () => {
  it("reads GPUs from an nvidia-smi found first on PATH", async () => {
    const dir = await fakeNvidiaSmiDir(TWO_GPUS);
    const monitor = startMonitor({ ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` });
    expect(monitor.current()).toEqual([]);
    await monitor.start();
    const gpus = monitor.current();
    expect(gpus).toHaveLength(2);
    expect(gpus[0]).toMatchObject({
      device: "cuda",
      index: 0,
      utilization_gpu_pct: 87,
      memory_free_mb: 21559,
      power_draw_w: 512.3,
    });
    expect(gpus[1]).toMatchObject({ index: 1, utilization_gpu_pct: null, power_draw_w: null, power_limit_w: 700 });
    for (const gpu of gpus) expect(GpuSnapshotSchema.safeParse(gpu).success).toBe(true);
  });

  it("samples again every interval", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-nvidia-smi-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const counter = join(dir, "count");
    await writeFile(counter, "0");
    // Each run bumps a counter and reports it as the utilisation, so new samples are visible.
    const script = `#!/bin/sh\nn=$(( $(cat "${counter}") + 1 ))\necho "$n" > "${counter}"\necho "0, GPU-c, NVIDIA L4, $n, 1, 100, 23034, 22934, 40, 20.00, 72.00"\n`;
    await writeFile(join(dir, "nvidia-smi"), script);
    await chmod(join(dir, "nvidia-smi"), 0o755);
    const monitor = startMonitor({ ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` }, 1000);
    await monitor.start();
    expect(monitor.current()[0]?.utilization_gpu_pct).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2300));
    expect(monitor.current()[0]?.utilization_gpu_pct).toBeGreaterThanOrEqual(3);
  });

  it("reports the host CPU as device 0 when nvidia-smi is not installed", async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), "no-nvidia-smi-"));
    cleanups.push(() => rm(emptyDir, { recursive: true, force: true }));
    const monitor = startMonitor({ ...process.env, PATH: emptyDir });
    await monitor.start();
    const [cpu, ...rest] = monitor.current();
    expect(rest).toEqual([]);
    expect(GpuSnapshotSchema.parse(cpu)).toMatchObject({
      device: "cpu",
      index: 0,
      utilization_memory_pct: null,
      temperature_c: null,
      power_draw_w: null,
      power_limit_w: null,
    });
    expect(cpu?.memory_total_mb).toBeGreaterThan(0);
    expect(cpu?.memory_free_mb).toBeGreaterThan(0);
    expect(cpu?.name.length).toBeGreaterThan(0);
  });

  it("falls back to the CPU when nvidia-smi exists but fails before any GPU reading", async () => {
    const dir = await fakeNvidiaSmiDir(
      "",
      'echo "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver." >&2\nexit 9',
    );
    const monitor = startMonitor({ ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}` });
    await monitor.start();
    expect(monitor.current().map((g) => g.device)).toEqual(["cpu"]);
  });

  it("tells its owner of each failed sample (the metrics' sampling errors), and not of good ones", async () => {
    const failing = await fakeNvidiaSmiDir("", "exit 9");
    let failures = 0;
    const broken = createGpuMonitor({
      intervalMs: 1000,
      env: { ...process.env, PATH: `${failing}:${process.env.PATH ?? ""}` },
      onSamplingError: () => failures++,
    });
    cleanups.push(() => broken.stop());
    await broken.start();
    expect(failures).toBe(1);
    const working = await fakeNvidiaSmiDir(TWO_GPUS);
    const healthy = createGpuMonitor({
      intervalMs: 1000,
      env: { ...process.env, PATH: `${working}:${process.env.PATH ?? ""}` },
      onSamplingError: () => failures++,
    });
    cleanups.push(() => healthy.stop());
    await healthy.start();
    expect(failures).toBe(1);
  });
});
