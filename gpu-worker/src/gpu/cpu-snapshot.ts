/**
 * The host CPU described as a GpuSnapshot (device "cpu"), for workers without nvidia-smi: the
 * router still needs one device with free memory and a load figure to place models.
 */
import { cpus, freemem, hostname, loadavg, totalmem } from "node:os";
import type { GpuSnapshot } from "@modelgate/shared";

const BYTES_PER_MB = 1024 * 1024;

interface CpuTimes {
  busy: number;
  total: number;
}

function readCpuTimes(): CpuTimes | undefined {
  const all = cpus();
  if (all.length === 0) return undefined;
  let busy = 0;
  let total = 0;
  for (const { times } of all) {
    const sum = times.user + times.nice + times.sys + times.idle + times.irq;
    busy += sum - times.idle;
    total += sum;
  }
  return { busy, total };
}

/** Samples CPU utilisation from the change in cpu times since the previous sample. */
export function createCpuSampler(): () => GpuSnapshot {
  let previous = readCpuTimes();
  return () => {
    const current = readCpuTimes();
    let utilization: number | null = null;
    if (previous && current && current.total > previous.total) {
      utilization = ((current.busy - previous.busy) / (current.total - previous.total)) * 100;
    } else {
      // No interval to compare yet: the 1-minute load average per core is the best estimate.
      const cores = cpus().length;
      const [oneMinute] = loadavg();
      if (cores > 0 && oneMinute !== undefined) utilization = (oneMinute / cores) * 100;
    }
    previous = current;
    const totalMb = totalmem() / BYTES_PER_MB;
    const freeMb = freemem() / BYTES_PER_MB;
    return {
      index: 0,
      uuid: `cpu-${hostname()}`,
      name: cpus()[0]?.model.trim() || "host CPU",
      device: "cpu",
      utilization_gpu_pct: utilization === null ? null : round1(Math.min(100, Math.max(0, utilization))),
      // nvidia-smi's memory utilisation is memory-controller busy time, which a CPU cannot report.
      utilization_memory_pct: null,
      memory_used_mb: Math.round(totalMb - freeMb),
      memory_total_mb: Math.round(totalMb),
      memory_free_mb: Math.round(freeMb),
      temperature_c: null,
      power_draw_w: null,
      power_limit_w: null,
    };
  };
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
