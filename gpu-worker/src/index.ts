export { ArtifactCache } from "./artifacts/artifact-cache.js";
export type { ObjectStore, PutObjectOptions } from "./artifacts/object-store.js";
export type { Clock } from "./clock.js";
export {
  type ExecutionProvider,
  loadWorkerConfig,
  type S3Config,
  type WorkerConfig,
  WorkerConfigError,
  type WorkerEnv,
} from "./config.js";
export { createGpuMonitor, type GpuMonitor } from "./gpu/gpu-monitor.js";
export { parseNvidiaSmiLine, parseNvidiaSmiOutput } from "./gpu/nvidia-smi.js";
export type { InferenceEngine, InferenceLoad } from "./inference/inference-service.js";
export type { Logger } from "./logger.js";
export {
  createWorkerApp,
  type RunningWorker,
  type StartWorkerOptions,
  startWorker,
  WORKER_VERSION,
  type WorkerAppDeps,
} from "./server.js";
