/** `GET /health`: open, answered from in-memory state only, so it stays instant under load. */
import { Hono } from "hono";
import type { Clock } from "../clock.js";
import type { GpuMonitor } from "../gpu/gpu-monitor.js";
import type { WorkerAppEnv } from "../http/app-env.js";
import type { InferenceEngine } from "../inference/inference-service.js";

export interface HealthRouteDeps {
  workerId: string;
  startedAt: number;
  clock: Clock;
  inference: InferenceEngine;
  gpuMonitor: GpuMonitor;
}

export function healthRoutes(deps: HealthRouteDeps) {
  return new Hono<WorkerAppEnv>().get("/health", (c) => {
    const load = deps.inference.load();
    return c.json({
      status: "ok",
      worker_id: deps.workerId,
      uptime_s: Math.round((deps.clock.now() - deps.startedAt) / 100) / 10,
      loaded_models: load.loadedModels,
      queue_depth: load.queueDepth,
      in_flight: load.inFlight,
      tokens_per_second: load.tokensPerSecond,
      gpus: deps.gpuMonitor.current(),
      // The whole process, inference threads and ONNX Runtime's native memory included.
      process: processMemory(),
    });
  });
}

const MB = 1024 * 1024;

/** Resident memory now and at its peak (maxRSS comes in kilobytes). */
function processMemory(): { rss_mb: number; peak_rss_mb: number } {
  return {
    rss_mb: Math.round(process.memoryUsage.rss() / MB),
    peak_rss_mb: Math.round((process.resourceUsage().maxRSS * 1024) / MB),
  };
}
