/**
 * The GPU worker's Prometheus metrics (prom-client), built from the shared catalogue so the
 * names, labels and buckets here are the ones the alert rules and dashboard are tested against.
 * Recording is a counter or histogram update in memory: nothing on the request path awaits it.
 * Gauges (GPUs, resident models, queue, event loop, memory) are read when Prometheus scrapes.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  type GpuSnapshot,
  type LoadedModel,
  type MetricDefinition,
  type ModelVersion,
  WORKER_METRICS,
  type WorkerMetricKey,
} from "@modelgate/shared";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type InferenceEndpoint = "generate" | "predict" | "infer";

/** `model`, `version`, `format`: which file of which version served (format `fp32` for the original). */
export type ModelLabels = { model: string; version: string; format: string };

export function modelLabelsOf(target: Pick<ModelVersion, "name" | "version" | "serving_format">): ModelLabels {
  return { model: target.name, version: String(target.version), format: target.serving_format ?? "fp32" };
}

/** One generation loop's time on its inference thread (see DecodeScheduler). */
export interface GenerationTiming {
  queueMs: number;
  prefillMs: number;
  decodeMs: number;
  /** From the job reaching the thread to its first token. */
  firstTokenMs: number;
}

/** Model executions by phase and batch size since the scheduler last reported them. */
export interface BatchExecutions {
  phase: "prefill" | "decode";
  batchSize: number;
  count: number;
}

/** Live state read at scrape time. */
export interface WorkerStateSources {
  gpus(): readonly GpuSnapshot[];
  residentModels(): ReadonlyArray<{ model: LoadedModel; format: string }>;
  load(): { queueDepth: number; inFlight: number };
}

export interface WorkerMetricsOptions {
  workerId: string;
  /** The worker's build version (`modelgate_worker_info{version}`). */
  version: string;
  /** False records nothing on the request path (the metrics-cost benchmark); gauges still answer. */
  enabled?: boolean;
}

const BYTES_PER_MB = 1024 * 1024;

type Instruments = {
  [K in WorkerMetricKey]: (typeof WORKER_METRICS)[K]["type"] extends "counter"
    ? Counter<string>
    : (typeof WORKER_METRICS)[K]["type"] extends "histogram"
      ? Histogram<string>
      : Gauge<string>;
};

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly enabled: boolean;
  readonly #instruments: Instruments;
  readonly #loopDelay = monitorEventLoopDelay({ resolution: 10 });
  #sources: WorkerStateSources | undefined;

  constructor(options: WorkerMetricsOptions) {
    this.enabled = options.enabled ?? true;
    this.registry.setDefaultLabels({ worker_id: options.workerId });
    this.#instruments = buildInstruments(this.registry);
    this.#instruments.workerInfo.set({ version: options.version }, 1);
    this.#loopDelay.enable();
  }

  /** Where the scrape-time gauges read from; set once the worker's parts exist. */
  readStateFrom(sources: WorkerStateSources): void {
    this.#sources = sources;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async render(): Promise<string> {
    this.#collectState();
    return this.registry.metrics();
  }

  /** Stops the event-loop monitor (tests start many workers in one process). */
  close(): void {
    this.#loopDelay.disable();
  }

  // ---- the request path ----------------------------------------------------------------------

  requestFinished(
    endpoint: InferenceEndpoint,
    labels: ModelLabels,
    outcome: { ok: true } | { ok: false; code: string },
    seconds: number,
  ): void {
    if (!this.enabled) return;
    const { requestSuccess, requestFailure, requestDuration } = this.#instruments;
    if (outcome.ok) requestSuccess.inc({ ...labels, endpoint });
    else requestFailure.inc({ ...labels, endpoint, code: outcome.code });
    requestDuration.observe({ ...labels, endpoint }, seconds);
  }

  /** One loop's generation on its thread, and the model executions its reply carried. */
  loopGenerated(labels: ModelLabels, timing: GenerationTiming, executions: readonly BatchExecutions[]): void {
    if (!this.enabled) return;
    const { queueDuration, prefillDuration, decodeDuration, batchSize } = this.#instruments;
    queueDuration.observe(labels, timing.queueMs / 1000);
    prefillDuration.observe(labels, timing.prefillMs / 1000);
    decodeDuration.observe(labels, timing.decodeMs / 1000);
    for (const execution of executions) {
      for (let i = 0; i < execution.count; i++)
        batchSize.observe({ ...labels, phase: execution.phase }, execution.batchSize);
    }
  }

  timeToFirstToken(labels: ModelLabels, seconds: number): void {
    if (!this.enabled) return;
    this.#instruments.timeToFirstToken.observe(labels, seconds);
  }

  /** A whole answered generation: tokens, halt head, refinement and judges (seed 000's efficiency metrics). */
  generationAnswered(
    labels: ModelLabels,
    answer: {
      loops: ReadonlyArray<{ tokens: number; prompt_tokens: number; judge_score: number | null }>;
      halt_probability: number | null;
      stop_reason: string;
      latent_spans_used: number;
    },
    judgeType: string | undefined,
  ): void {
    if (!this.enabled) return;
    const m = this.#instruments;
    let generated = 0;
    let prompted = 0;
    for (const loop of answer.loops) {
      generated += loop.tokens;
      prompted += loop.prompt_tokens;
      if (judgeType !== undefined && loop.judge_score !== null) {
        m.judgeScore.observe({ ...labels, judge: judgeType }, loop.judge_score);
      }
    }
    m.generationTokens.inc(labels, generated);
    m.promptTokens.inc(labels, prompted);
    if (answer.halt_probability !== null) m.haltProbability.observe(labels, answer.halt_probability);
    m.refinementLoops.observe(labels, answer.loops.length);
    m.stopReasons.inc({ ...labels, stop_reason: answer.stop_reason });
    m.latentSpans.inc(labels, answer.latent_spans_used);
  }

  /** Creates the load-failure series at 0, so Prometheus' increase() sees the first failure too. */
  modelLoadStarted(labels: ModelLabels): void {
    if (!this.enabled) return;
    this.#instruments.modelLoadFailures.inc(labels, 0);
  }

  modelLoaded(labels: ModelLabels, seconds: number): void {
    if (!this.enabled) return;
    this.#instruments.modelLoadDuration.observe(labels, seconds);
  }

  modelLoadFailed(labels: ModelLabels): void {
    if (!this.enabled) return;
    this.#instruments.modelLoadFailures.inc(labels);
  }

  // ---- background work -----------------------------------------------------------------------

  conversionStepFinished(step: string, seconds: number): void {
    this.#instruments.conversionStepDuration.observe({ step }, seconds);
  }

  conversionJobEnded(outcome: "succeeded" | "failed" | "cancelled" | "lease_lost"): void {
    this.#instruments.conversionJobs.inc({ outcome });
  }

  gpuSamplingFailed(): void {
    this.#instruments.gpuSamplingErrors.inc();
  }

  // ---- scrape time ---------------------------------------------------------------------------

  #collectState(): void {
    const m = this.#instruments;
    m.residentMemory.set(process.memoryUsage.rss());
    const delay = this.#loopDelay;
    // The histogram reads nanoseconds; a scrape sees the delays since the previous one.
    if (delay.count > 0) {
      m.eventLoopLag.set({ quantile: "0.5" }, delay.percentile(50) / 1e9);
      m.eventLoopLag.set({ quantile: "0.99" }, delay.percentile(99) / 1e9);
      m.eventLoopLag.set({ quantile: "1" }, delay.max / 1e9);
    }
    delay.reset();
    const sources = this.#sources;
    if (!sources) return;
    const { queueDepth, inFlight } = sources.load();
    m.queueDepth.set(queueDepth);
    m.inFlight.set(inFlight);
    const resident = sources.residentModels();
    m.loadedModels.set(resident.length);
    m.modelLoaded.reset();
    m.modelLoadedBytes.reset();
    for (const { model, format } of resident) {
      const labels = { model: model.name, version: String(model.version), format };
      m.modelLoaded.set(labels, 1);
      m.modelLoadedBytes.set(labels, model.memory_mb * BYTES_PER_MB);
    }
    for (const gauge of [
      m.gpuUtilization,
      m.gpuMemoryUsed,
      m.gpuMemoryTotal,
      m.gpuTemperature,
      m.gpuPowerDraw,
      m.gpuPowerLimit,
    ]) {
      gauge.reset();
    }
    for (const gpu of sources.gpus()) {
      const labels = { gpu: String(gpu.index), uuid: gpu.uuid, name: gpu.name, device: gpu.device };
      // A reading nvidia-smi could not give ([N/A]) is left out, never reported as zero.
      const set = (gauge: Gauge<string>, value: number | null) => {
        if (value !== null) gauge.set(labels, value);
      };
      set(m.gpuUtilization, gpu.utilization_gpu_pct === null ? null : gpu.utilization_gpu_pct / 100);
      set(m.gpuMemoryUsed, gpu.memory_used_mb === null ? null : gpu.memory_used_mb * BYTES_PER_MB);
      set(m.gpuMemoryTotal, gpu.memory_total_mb === null ? null : gpu.memory_total_mb * BYTES_PER_MB);
      set(m.gpuTemperature, gpu.temperature_c);
      set(m.gpuPowerDraw, gpu.power_draw_w);
      set(m.gpuPowerLimit, gpu.power_limit_w);
    }
  }
}

function instrumentFor(
  metric: MetricDefinition,
  registry: Registry,
): Counter<string> | Histogram<string> | Gauge<string> {
  const common = { name: metric.name, help: metric.help, labelNames: [...metric.labels], registers: [registry] };
  if (metric.type === "counter") return new Counter(common);
  if (metric.type === "histogram") return new Histogram({ ...common, buckets: [...(metric.buckets ?? [])] });
  return new Gauge(common);
}

function buildInstruments(registry: Registry): Instruments {
  const entries = (Object.entries(WORKER_METRICS) as Array<[WorkerMetricKey, MetricDefinition]>).map(
    ([key, metric]) => [key, instrumentFor(metric, registry)] as const,
  );
  return Object.fromEntries(entries) as Instruments;
}
