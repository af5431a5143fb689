/**
 * Samples the worker's GPUs once per interval by running nvidia-smi, and falls back to describing
 * the host CPU when nvidia-smi is not installed. Readers get the last sample instantly.
 */
import { execFile } from "node:child_process";
import type { GpuSnapshot } from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";
import { createCpuSampler } from "./cpu-snapshot.js";
import { NVIDIA_SMI_ARGS, parseNvidiaSmiOutput } from "./nvidia-smi.js";

export interface GpuMonitor {
  /** The latest sample; empty only before `start()` has resolved. */
  current(): GpuSnapshot[];
  /** Takes the first sample, then keeps sampling every interval. */
  start(): Promise<void>;
  stop(): void;
}

export interface NvidiaSmiMonitorOptions {
  intervalMs: number;
  /** The executable to run; looked up on `env.PATH`. */
  command?: string;
  /** Environment for nvidia-smi (and its PATH lookup); defaults to the process environment. */
  env?: NodeJS.ProcessEnv;
  /** A hung driver can make nvidia-smi block for a long time; never wait longer than this. */
  timeoutMs?: number;
  logger?: Logger;
  /** Told of every failed nvidia-smi sample (timeout, non-zero exit, unreadable output), for the metrics. */
  onSamplingError?: () => void;
}

type SampleOutcome =
  | { kind: "gpus"; gpus: GpuSnapshot[] }
  | { kind: "not-installed" }
  | { kind: "failed"; reason: string };

function runNvidiaSmi(command: string, env: NodeJS.ProcessEnv | undefined, timeoutMs: number): Promise<SampleOutcome> {
  return new Promise((resolve) => {
    execFile(command, NVIDIA_SMI_ARGS, { env, timeout: timeoutMs, windowsHide: true }, (error, stdout) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT") resolve({ kind: "not-installed" });
        else resolve({ kind: "failed", reason: error.message.split("\n")[0] ?? String(code) });
        return;
      }
      const parsed = parseNvidiaSmiOutput(stdout);
      resolve(parsed.ok ? { kind: "gpus", gpus: parsed.gpus } : { kind: "failed", reason: parsed.reason });
    });
  });
}

export function createGpuMonitor(options: NvidiaSmiMonitorOptions): GpuMonitor {
  const command = options.command ?? "nvidia-smi";
  const timeoutMs = options.timeoutMs ?? Math.min(options.intervalMs, 5000);
  const logger = options.logger ?? silentLogger;
  const sampleCpu = createCpuSampler();
  let latest: GpuSnapshot[] = [];
  let lastGpuSample: GpuSnapshot[] | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sampling = false;
  let running = false;
  let reportedMode: string | undefined;

  const reportMode = (mode: string, fields: Record<string, unknown> = {}) => {
    if (mode === reportedMode) return;
    reportedMode = mode;
    if (mode === "gpu") logger.info("gpu monitor reading nvidia-smi", fields);
    else if (mode === "cpu") logger.info("nvidia-smi not found; reporting the host CPU as device 0", fields);
    else logger.warn("nvidia-smi failed", fields);
  };

  const sample = async (): Promise<void> => {
    // A slow nvidia-smi must not pile up overlapping processes.
    if (sampling) return;
    sampling = true;
    try {
      const outcome = await runNvidiaSmi(command, options.env, timeoutMs);
      if (outcome.kind === "gpus") {
        reportMode("gpu", { gpus: outcome.gpus.length });
        lastGpuSample = outcome.gpus;
        latest = outcome.gpus;
      } else if (outcome.kind === "not-installed") {
        reportMode("cpu");
        latest = [sampleCpu()];
      } else {
        options.onSamplingError?.();
        reportMode("failed", { reason: outcome.reason });
        // A transient failure keeps the last GPU reading; a machine whose nvidia-smi never
        // worked runs ONNX Runtime on the CPU, so describe that instead.
        latest = lastGpuSample ?? [sampleCpu()];
      }
    } finally {
      sampling = false;
    }
  };

  return {
    current: () => latest,
    async start() {
      if (running) return;
      running = true;
      await sample();
      if (!running) return;
      timer = setInterval(() => void sample(), options.intervalMs);
      // Sampling alone must never keep the process alive.
      timer.unref();
    },
    stop() {
      running = false;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
