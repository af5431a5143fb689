/**
 * Wiring: the Hono app (pure, dependencies injected) and `startWorker`, which starts the GPU
 * monitor, the inference threads, the HTTP server and the heartbeats, and stops them again.
 */
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { createNonceGuard, type WorkerHeartbeat } from "@modelgate/shared";
import { Hono } from "hono";
import { ArtifactCache } from "./artifacts/artifact-cache.js";
import type { ObjectStore } from "./artifacts/object-store.js";
import { createS3Client, S3ObjectStore } from "./artifacts/s3-object-store.js";
import { type Clock, systemClock } from "./clock.js";
import type { WorkerConfig } from "./config.js";
import { ConversionJobRunner } from "./conversion/conversion-job-runner.js";
import { EdgeConversionClient } from "./conversion/edge-conversion-client.js";
import { EdgeEvaluationClient } from "./evaluation/edge-evaluation-client.js";
import { EvaluationJobRunner } from "./evaluation/evaluation-job-runner.js";
import { createGpuMonitor, type GpuMonitor } from "./gpu/gpu-monitor.js";
import { createHeartbeatSender } from "./heartbeat/heartbeat-sender.js";
import { obtainWorkerCredential } from "./heartbeat/worker-credential.js";
import type { WorkerAppEnv } from "./http/app-env.js";
import { handleError, notFound } from "./http/problem.js";
import { InferenceThreadPool } from "./inference/inference-pool.js";
import { type InferenceEngine, InferenceService } from "./inference/inference-service.js";
import { createWorkerLogger, type Logger } from "./logger.js";
import { WorkerMetrics } from "./metrics/worker-metrics.js";
import { requestLog } from "./middleware/request-log.js";
import { verifyEdgeSignature } from "./middleware/verify-edge-signature.js";
import { generateRoutes } from "./routes/generate.js";
import { healthRoutes } from "./routes/health.js";
import { inferRoutes } from "./routes/infer.js";
import { metricsRoutes } from "./routes/metrics.js";
import { predictRoutes } from "./routes/predict.js";

/** Reported in heartbeats so the fleet view shows which build each worker runs. */
export const WORKER_VERSION = "0.1.0";

export interface WorkerAppDeps {
  config: Pick<WorkerConfig, "workerId" | "signingSecret" | "maxBodyBytes"> &
    Partial<Pick<WorkerConfig, "metricsToken">>;
  inference: InferenceEngine;
  gpuMonitor: GpuMonitor;
  /** Serves `GET /metrics` when given. */
  metrics?: WorkerMetrics;
  clock?: Clock;
  logger?: Logger;
}

export function createWorkerApp(deps: WorkerAppDeps): Hono<WorkerAppEnv> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createWorkerLogger({ workerId: deps.config.workerId });
  const app = new Hono<WorkerAppEnv>();
  app.use(async (c, next) => {
    c.set("logger", logger);
    await next();
  });
  app.use(requestLog);
  app.route("/", healthRoutes({ ...deps, workerId: deps.config.workerId, startedAt: clock.now(), clock }));
  if (deps.metrics) app.route("/", metricsRoutes(deps.metrics, deps.config.metricsToken));
  app.use(
    "/v1/*",
    verifyEdgeSignature({
      secret: deps.config.signingSecret,
      workerId: deps.config.workerId,
      // One guard per app: a nonce seen by this worker is refused for the rest of its window.
      nonceGuard: createNonceGuard(undefined, () => clock.now()),
      maxBodyBytes: deps.config.maxBodyBytes,
      now: () => clock.now(),
    }),
  );
  app.route("/", generateRoutes(deps.inference));
  app.route("/", predictRoutes(deps.inference));
  app.route("/", inferRoutes(deps.inference, deps.config.workerId));
  app.notFound(notFound);
  app.onError(handleError(logger));
  return app;
}

function sleepUntil(deadline: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref());
}

export interface StartWorkerOptions {
  logger?: Logger;
  clock?: Clock;
  /** Replaces S3 (built from `config.s3`) as the artifact source. */
  objectStore?: ObjectStore;
  /** Replaces the nvidia-smi monitor. */
  gpuMonitor?: GpuMonitor;
  /** Set false to start without heartbeats (the edge is not running, e.g. in some tests). */
  heartbeats?: boolean;
}

export interface RunningWorker {
  /** Base URL of the HTTP server as bound (the real port when `PORT=0`). */
  url: string;
  /** The URL announced to the edge in heartbeats. */
  advertisedUrl: string;
  workerId: string;
  /**
   * Graceful stop (SIGTERM): announces it is draining so the edge routes nothing new here,
   * lets generations and a conversion job in hand finish, waits until no request has arrived
   * for a quiet moment (or the drain timeout passes), then closes.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export async function startWorker(config: WorkerConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const logger = options.logger ?? createWorkerLogger({ level: config.logLevel, workerId: config.workerId });
  const clock = options.clock ?? systemClock;
  const metrics = new WorkerMetrics({
    workerId: config.workerId,
    version: WORKER_VERSION,
    enabled: config.metricsEnabled,
  });
  const gpuMonitor =
    options.gpuMonitor ??
    createGpuMonitor({
      intervalMs: config.gpuMonitorIntervalMs,
      logger,
      onSamplingError: () => metrics.gpuSamplingFailed(),
    });
  const store = options.objectStore ?? new S3ObjectStore(createS3Client(config.s3));
  const artifacts = new ArtifactCache({ cacheDir: config.cacheDir, store, logger });
  let service: InferenceService | undefined;
  const pool = new InferenceThreadPool({
    threads: config.inferenceThreads,
    logger,
    onModelsLost: (keys) => service?.forgetModels(keys),
  });
  service = new InferenceService({
    workerId: config.workerId,
    pool,
    artifacts,
    baseRuntimeConfig: config.runtimeConfig,
    sessionSettings: {
      intraOpThreads: config.intraOpThreads,
      executionProviders: config.executionProviders,
      maxBatchSize: config.maxBatchSize,
    },
    modelMemoryBudgetMb: config.modelMemoryBudgetMb,
    logger,
    metrics,
  });
  const inference = service;
  metrics.readStateFrom({
    gpus: () => gpuMonitor.current(),
    residentModels: () => inference.residentModels(),
    load: () => inference.load(),
  });

  // The credential is fetched while the GPU monitor and inference threads start (an edge
  // booting beside this worker is waited for).
  const credentialReady =
    options.heartbeats === false
      ? Promise.resolve({ credential: config.workerToken ?? "", source: "legacy-token" as const })
      : obtainWorkerCredential({
          edgeUrl: config.edgeUrl,
          workerId: config.workerId,
          enrolmentToken: config.enrolmentToken,
          credentialFile: config.credentialFile,
          legacyToken: config.workerToken,
          logger,
        });
  let credential: string;
  try {
    [credential] = await Promise.all([
      credentialReady.then((obtained) => obtained.credential),
      gpuMonitor.start(),
      pool.start(),
    ]);
  } catch (error) {
    gpuMonitor.stop();
    await pool.close();
    metrics.close();
    throw error;
  }
  const app = createWorkerApp({ config, inference, gpuMonitor, metrics, clock, logger });
  const server = createAdaptorServer({ fetch: app.fetch });
  // Requests whose answer is still being written (a stream included), and when the last one came:
  // what a drain waits on.
  let openRequests = 0;
  let lastRequestAt = 0;
  server.on("request", (_request, response) => {
    openRequests++;
    lastRequestAt = Date.now();
    response.once("close", () => openRequests--);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    gpuMonitor.stop();
    await pool.close();
    metrics.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host}:${port}`;
  const advertisedUrl = config.workerUrl ?? `http://127.0.0.1:${port}`;

  let draining = false;
  let conversions: ConversionJobRunner | undefined;
  let evaluations: EvaluationJobRunner | undefined;
  /** Leased jobs in hand (a conversion, an evaluation): a drain waits for them. */
  const leasedJobs = () => (conversions?.activeJobs ?? 0) + (evaluations?.activeJobs ?? 0);
  const buildHeartbeat = (): WorkerHeartbeat => {
    const load = inference.load();
    return {
      worker_id: config.workerId,
      url: advertisedUrl,
      sent_at: new Date(clock.now()).toISOString(),
      interval_ms: config.gpuMonitorIntervalMs,
      gpus: gpuMonitor.current(),
      loaded_models: load.loadedModels,
      queue_depth: load.queueDepth,
      in_flight: load.inFlight,
      tokens_per_second: load.tokensPerSecond,
      version: WORKER_VERSION,
      conversion_jobs: conversions?.activeJobs ?? 0,
      ...(draining ? { draining: true } : {}),
    };
  };
  const heartbeats = createHeartbeatSender({
    edgeUrl: config.edgeUrl,
    workerToken: credential,
    intervalMs: config.gpuMonitorIntervalMs,
    buildHeartbeat,
    // Placement's warm replicas: loaded in the background, never holding up the next heartbeat.
    onAccepted: (answer) => {
      if (answer.preload.length > 0) void inference.preload(answer.preload);
    },
    logger,
  });
  if (options.heartbeats !== false) heartbeats.start();
  // Conversion jobs share the worker's artifact cache and object store; they run in their own
  // thread, so inference and health keep answering while a model is converted.
  conversions =
    config.conversionPollMs > 0 && options.heartbeats !== false
      ? new ConversionJobRunner({
          workerId: config.workerId,
          client: new EdgeConversionClient({ edgeUrl: config.edgeUrl, workerToken: credential }),
          artifacts,
          store,
          bucket: config.s3.bucket,
          pollMs: config.conversionPollMs,
          logger,
          metrics,
        })
      : undefined;
  conversions?.start();
  // Evaluation jobs run through this worker's own engine, batched with its other traffic.
  evaluations =
    config.evaluationPollMs > 0 && options.heartbeats !== false
      ? new EvaluationJobRunner({
          workerId: config.workerId,
          client: new EdgeEvaluationClient({ edgeUrl: config.edgeUrl, workerToken: credential }),
          engine: inference,
          artifacts,
          store,
          bucket: config.s3.bucket,
          pollMs: config.evaluationPollMs,
          logger,
        })
      : undefined;
  evaluations?.start();
  logger.info("gpu worker listening", { url, advertised_url: advertisedUrl, worker_id: config.workerId });

  let closed: Promise<void> | undefined;
  let drained: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      heartbeats.stop();
      await conversions?.stop();
      await evaluations?.stop();
      gpuMonitor.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections would hold close() open until they time out.
        if ("closeIdleConnections" in server) server.closeIdleConnections();
        // A drain has already waited for what was in flight: nothing left is worth waiting for.
        if (draining && "closeAllConnections" in server) setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      await pool.close();
      metrics.close();
    })();
    return closed;
  };
  const drain = () => {
    drained ??= (async () => {
      draining = true;
      const deadline = Date.now() + config.drainTimeoutMs;
      logger.info("draining: taking no new work, finishing what runs", { timeout_ms: config.drainTimeoutMs });
      // Told at once rather than at the next interval; an unreachable edge does not hold the drain up.
      if (options.heartbeats !== false) {
        // A heartbeat already on its way carries the old state: send the announcement after it
        // (once more; an edge that does not answer is not waited for).
        if (!(await heartbeats.sendNow())) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          await heartbeats.sendNow();
        }
      }
      const jobsFinished = Promise.all([conversions?.finishAndStop(), evaluations?.finishAndStop()]);
      for (;;) {
        const load = inference.load();
        const idle =
          openRequests === 0 &&
          load.inFlight === 0 &&
          load.queueDepth === 0 &&
          leasedJobs() === 0 &&
          Date.now() - lastRequestAt >= config.drainQuietMs;
        if (idle) break;
        if (Date.now() >= deadline) {
          logger.warn("drain timeout passed with work in flight; stopping anyway", {
            open_requests: openRequests,
            in_flight: load.inFlight,
          });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (Date.now() < deadline) await Promise.race([jobsFinished, sleepUntil(deadline)]);
      // The last heartbeat says nothing is left, so `workers drain` can report the worker drained.
      if (options.heartbeats !== false) await heartbeats.sendNow();
      logger.info("drained");
      await close();
    })();
    return drained;
  };
  return { url, advertisedUrl, workerId: config.workerId, drain, close };
}
