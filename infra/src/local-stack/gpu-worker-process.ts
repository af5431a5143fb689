import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { captureChildOutput } from "./child-output.js";
import { stopProcessGroup } from "./edge-dev-server.js";

export interface GpuWorkerProcess {
  url: string;
  workerId: string;
  stop(): Promise<void>;
  /** SIGKILL to the whole process group, no grace: a crashed box, for resilience tests. */
  kill(): Promise<void>;
  /**
   * SIGTERM, as systemd or a rolling restart sends it, and waits for the worker to drain and exit
   * by itself (SIGKILL only after `graceMs`, default a minute). Resolves with its exit code.
   */
  terminate(graceMs?: number): Promise<number | null>;
}

export interface GpuWorkerProcessOptions {
  repoRoot: string;
  port: number;
  /** Environment for gpu-worker/src/main.ts (see gpu-worker/src/config.ts). */
  env: Record<string, string>;
  workerId: string;
  onOutput?: (line: string) => void;
  readyTimeoutMs?: number;
}

/** Runs the GPU worker exactly as a GPU box would (its own process, configured by env). */
export async function startGpuWorkerProcess(options: GpuWorkerProcessOptions): Promise<GpuWorkerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(options.repoRoot, "gpu-worker", "src", "main.ts")],
    {
      cwd: options.repoRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...options.env, PORT: String(options.port), MODELGATE_WORKER_ID: options.workerId },
    },
  );
  const recent = captureChildOutput(child, options.onOutput);
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the GPU worker exited with code ${child.exitCode}:\n${recent.join("\n")}`);
    }
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stopProcessGroup(child);
      throw new Error(`the GPU worker did not answer ${url}/health in time:\n${recent.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    workerId: options.workerId,
    stop: () => stopProcessGroup(child),
    kill: () => stopProcessGroup(child, 0),
    async terminate(graceMs = 60_000) {
      await stopProcessGroup(child, graceMs);
      return child.exitCode;
    },
  };
}
