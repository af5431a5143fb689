/**
 * Every Prometheus metric modelgate exports, in one list: the worker's prom-client registry and
 * the edge's aggregator are built from it, and the alert-rule and dashboard tests check that
 * every name they use is here. Names follow Triton's style (`nv_inference_request_success` →
 * `modelgate_inference_request_success_total`) and Prometheus' naming rules: base units
 * (seconds, bytes, ratios), `_total` on counters.
 */

export type MetricType = "counter" | "gauge" | "histogram";

export interface MetricDefinition {
  name: string;
  type: MetricType;
  help: string;
  /** Label names, in the order they are rendered. */
  labels: readonly string[];
  /** Histogram bucket upper bounds (ascending; `+Inf` is implied). */
  buckets?: readonly number[];
}

/** Request latencies, seconds: 5 ms to 2 min (a long generation). */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120] as const;
/** Edge-side work, seconds: 0.1 ms to 1 s. */
export const EDGE_WORK_BUCKETS_SECONDS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
] as const;
/** Model loads and conversion steps, seconds: 10 ms to 10 min. */
export const SLOW_WORK_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600] as const;
/** Probabilities and judge scores in [0, 1]. */
export const UNIT_INTERVAL_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1] as const;
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256] as const;
export const REFINEMENT_LOOP_BUCKETS = [1, 2, 3, 4, 5, 6, 8] as const;

const MODEL_LABELS = ["model", "version", "format"] as const;
const GPU_LABELS = ["gpu", "uuid", "name", "device"] as const;

/**
 * The GPU worker's metrics (`GET /metrics` on the worker). Every series also carries
 * `worker_id` (a default label of the worker's registry), so one Prometheus can scrape a fleet.
 */
export const WORKER_METRICS = {
  requestSuccess: {
    name: "modelgate_inference_request_success_total",
    type: "counter",
    help: "Inference requests answered successfully, by model, version, format and endpoint.",
    labels: [...MODEL_LABELS, "endpoint"],
  },
  requestFailure: {
    name: "modelgate_inference_request_failure_total",
    type: "counter",
    help: "Inference requests that failed, by model, version, format, endpoint and error code.",
    labels: [...MODEL_LABELS, "endpoint", "code"],
  },
  requestDuration: {
    name: "modelgate_inference_request_duration_seconds",
    type: "histogram",
    help: "Time from a request reaching the worker to its answer (every refinement loop included).",
    labels: [...MODEL_LABELS, "endpoint"],
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  queueDuration: {
    name: "modelgate_inference_queue_duration_seconds",
    type: "histogram",
    help: "Time a generation waited on its inference thread before joining the decode batch.",
    labels: MODEL_LABELS,
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  prefillDuration: {
    name: "modelgate_inference_prefill_duration_seconds",
    type: "histogram",
    help: "Prompt prefill time of a generation (the model call that read its prompt).",
    labels: MODEL_LABELS,
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  decodeDuration: {
    name: "modelgate_inference_decode_duration_seconds",
    type: "histogram",
    help: "Decode time of a generation: from its first token to its last.",
    labels: MODEL_LABELS,
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  timeToFirstToken: {
    name: "modelgate_time_to_first_token_seconds",
    type: "histogram",
    help: "Time from a generation request reaching the worker to its first token (model load, queue and prefill).",
    labels: MODEL_LABELS,
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  generationTokens: {
    name: "modelgate_generation_tokens_total",
    type: "counter",
    help: "Tokens generated, every refinement loop included.",
    labels: MODEL_LABELS,
  },
  promptTokens: {
    name: "modelgate_prompt_tokens_total",
    type: "counter",
    help: "Prompt tokens read, every refinement loop included.",
    labels: MODEL_LABELS,
  },
  batchSize: {
    name: "modelgate_inference_batch_size",
    type: "histogram",
    help: "Sequences per model execution (continuous batching), by phase (prefill or decode).",
    labels: [...MODEL_LABELS, "phase"],
    buckets: BATCH_SIZE_BUCKETS,
  },
  haltProbability: {
    name: "modelgate_halt_probability",
    type: "histogram",
    help: "The halt head's probability for each answered generation.",
    labels: MODEL_LABELS,
    buckets: UNIT_INTERVAL_BUCKETS,
  },
  refinementLoops: {
    name: "modelgate_refinement_loops",
    type: "histogram",
    help: "Refinement loops each answered generation took.",
    labels: MODEL_LABELS,
    buckets: REFINEMENT_LOOP_BUCKETS,
  },
  judgeScore: {
    name: "modelgate_judge_score",
    type: "histogram",
    help: "Judge scores of every refinement loop, by judge type.",
    labels: [...MODEL_LABELS, "judge"],
    buckets: UNIT_INTERVAL_BUCKETS,
  },
  stopReasons: {
    name: "modelgate_generation_stop_reason_total",
    type: "counter",
    help: "Why refinement stopped (judge_passed, halted, max_loops, no_judge).",
    labels: [...MODEL_LABELS, "stop_reason"],
  },
  latentSpans: {
    name: "modelgate_latent_spans_total",
    type: "counter",
    help: "Latent spans (<bot>…<eot>) used by generations.",
    labels: MODEL_LABELS,
  },
  modelLoadDuration: {
    name: "modelgate_model_load_duration_seconds",
    type: "histogram",
    help: "Time to make a model servable: fetch (cache or S3), sha256 check and session creation.",
    labels: MODEL_LABELS,
    buckets: SLOW_WORK_BUCKETS_SECONDS,
  },
  modelLoadFailures: {
    name: "modelgate_model_load_failures_total",
    type: "counter",
    help: "Model loads that failed (download, checksum or session creation).",
    labels: MODEL_LABELS,
  },
  modelLoaded: {
    name: "modelgate_model_loaded",
    type: "gauge",
    help: "1 for each model version resident on this worker.",
    labels: MODEL_LABELS,
  },
  modelLoadedBytes: {
    name: "modelgate_model_loaded_bytes",
    type: "gauge",
    help: "Memory budgeted for each resident model version (its registry memory_mb).",
    labels: MODEL_LABELS,
  },
  loadedModels: {
    name: "modelgate_loaded_models",
    type: "gauge",
    help: "Model versions resident on this worker.",
    labels: [],
  },
  queueDepth: {
    name: "modelgate_inference_queue_depth",
    type: "gauge",
    help: "Requests accepted and not yet answered (waiting plus running).",
    labels: [],
  },
  inFlight: {
    name: "modelgate_inference_in_flight",
    type: "gauge",
    help: "Jobs running on an inference thread now.",
    labels: [],
  },
  conversionJobs: {
    name: "modelgate_conversion_jobs_total",
    type: "counter",
    help: "Conversion jobs this worker ran, by outcome (succeeded, failed, cancelled, lease_lost).",
    labels: ["outcome"],
  },
  conversionStepDuration: {
    name: "modelgate_conversion_step_duration_seconds",
    type: "histogram",
    help: "Time of each conversion step (download, contract, shapes, convert, verify, upload, register).",
    labels: ["step"],
    buckets: SLOW_WORK_BUCKETS_SECONDS,
  },
  gpuUtilization: {
    name: "modelgate_gpu_utilization_ratio",
    type: "gauge",
    help: "GPU busy time over the last sample (nvidia-smi utilization.gpu / 100; host CPU without a GPU).",
    labels: GPU_LABELS,
  },
  gpuMemoryUsed: {
    name: "modelgate_gpu_memory_used_bytes",
    type: "gauge",
    help: "GPU memory in use.",
    labels: GPU_LABELS,
  },
  gpuMemoryTotal: {
    name: "modelgate_gpu_memory_total_bytes",
    type: "gauge",
    help: "GPU memory in total.",
    labels: GPU_LABELS,
  },
  gpuTemperature: {
    name: "modelgate_gpu_temperature_celsius",
    type: "gauge",
    help: "GPU temperature.",
    labels: GPU_LABELS,
  },
  gpuPowerDraw: {
    name: "modelgate_gpu_power_draw_watts",
    type: "gauge",
    help: "GPU power draw.",
    labels: GPU_LABELS,
  },
  gpuPowerLimit: {
    name: "modelgate_gpu_power_limit_watts",
    type: "gauge",
    help: "GPU power limit.",
    labels: GPU_LABELS,
  },
  gpuSamplingErrors: {
    name: "modelgate_gpu_sampling_errors_total",
    type: "counter",
    help: "nvidia-smi samples that failed (timeout, non-zero exit, unreadable output).",
    labels: [],
  },
  eventLoopLag: {
    name: "modelgate_event_loop_lag_seconds",
    type: "gauge",
    help: "Delay of the worker's HTTP event loop since the previous scrape, by quantile (0.5, 0.99, 1 = max).",
    labels: ["quantile"],
  },
  residentMemory: {
    name: "modelgate_process_resident_memory_bytes",
    type: "gauge",
    help: "Resident memory of the worker process (inference threads and ONNX Runtime included).",
    labels: [],
  },
  workerInfo: {
    name: "modelgate_worker_info",
    type: "gauge",
    help: "1, labelled with the worker's build version.",
    labels: ["version"],
  },
} as const satisfies Record<string, MetricDefinition>;

/**
 * The edge's metrics (`GET /metrics` on the edge). Counters and histograms are recorded per
 * isolate and added up in the MetricsAggregator Durable Object; gauges are read live from the
 * pool, the registry and the conversion queue when Prometheus scrapes.
 */
export const EDGE_METRICS = {
  requests: {
    name: "modelgate_edge_requests_total",
    type: "counter",
    help: "Requests the edge answered, by route (as registered), method, status class, and for routed requests the model and worker.",
    labels: ["route", "method", "status_class", "model", "version", "format", "worker_id"],
  },
  requestDuration: {
    name: "modelgate_edge_request_duration_seconds",
    type: "histogram",
    help: "Time from a request reaching the edge to its response headers (a stream's first byte).",
    labels: ["route", "status_class"],
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  overhead: {
    name: "modelgate_edge_overhead_seconds",
    type: "histogram",
    help: "Time the edge itself spent on a routed request: everything before the answer's first byte except the wait for the worker.",
    labels: ["route"],
    buckets: EDGE_WORK_BUCKETS_SECONDS,
  },
  selectionDuration: {
    name: "modelgate_edge_selection_duration_seconds",
    type: "histogram",
    help: "Time of one routing decision over (version, worker, GPU).",
    labels: [],
    buckets: EDGE_WORK_BUCKETS_SECONDS,
  },
  failovers: {
    name: "modelgate_edge_failovers_total",
    type: "counter",
    help: "Forward attempts that failed (connect error, timeout, 5xx, refused signature), by the worker that failed; the next fallback, if any, is tried next.",
    labels: ["worker_id"],
  },
  rateLimited: {
    name: "modelgate_edge_rate_limited_total",
    type: "counter",
    help: "Requests refused with 429 by a key's per-minute limit, by key id.",
    labels: ["key_id"],
  },
  registryWrites: {
    name: "modelgate_edge_registry_writes_total",
    type: "counter",
    help: "Registry writes through the coordinator, by operation and outcome (ok, refused by the registry, failed to reach it).",
    labels: ["operation", "outcome"],
  },
  circuitState: {
    name: "modelgate_edge_circuit_state",
    type: "gauge",
    help: "1 for each worker's current circuit-breaker state (closed, open, half_open).",
    labels: ["worker_id", "state"],
  },
  heartbeatAge: {
    name: "modelgate_edge_worker_heartbeat_age_seconds",
    type: "gauge",
    help: "Seconds since the edge received each worker's last heartbeat.",
    labels: ["worker_id"],
  },
  workerLive: {
    name: "modelgate_edge_worker_live",
    type: "gauge",
    help: "1 when a worker's heartbeat is fresh enough for routing (within three of its intervals), else 0.",
    labels: ["worker_id"],
  },
  workerLoadedModels: {
    name: "modelgate_edge_worker_loaded_models",
    type: "gauge",
    help: "Model versions each worker reported resident in its last heartbeat.",
    labels: ["worker_id"],
  },
  productionLiveWorkers: {
    name: "modelgate_edge_production_live_workers",
    type: "gauge",
    help: "Workers routing would send each Production version to now (live, circuit not open, room for the model).",
    labels: ["model", "version"],
  },
  conversionJobs: {
    name: "modelgate_edge_conversion_jobs",
    type: "gauge",
    help: "Conversion jobs in the queue's table, by status (queued, running, succeeded, failed, cancelled).",
    labels: ["status"],
  },
  conversionOldestQueuedAge: {
    name: "modelgate_edge_conversion_oldest_queued_age_seconds",
    type: "gauge",
    help: "Age of the oldest queued conversion job (0 when none waits).",
    labels: [],
  },
  droppedSeries: {
    name: "modelgate_edge_metrics_dropped_series_total",
    type: "counter",
    help: "Series the aggregator refused because it already holds its maximum (a label with runaway values).",
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

export type WorkerMetricKey = keyof typeof WORKER_METRICS;
export type EdgeMetricKey = keyof typeof EDGE_METRICS;

export const ALL_METRICS: readonly MetricDefinition[] = [
  ...Object.values(WORKER_METRICS),
  ...Object.values(EDGE_METRICS),
];

/** The series names a metric appears under in the text format (histograms: `_bucket`, `_sum`, `_count`). */
export function seriesNamesOf(metric: MetricDefinition): string[] {
  if (metric.type !== "histogram") return [metric.name];
  return [`${metric.name}_bucket`, `${metric.name}_sum`, `${metric.name}_count`];
}

/** Every series name in the catalogue: what a PromQL expression over modelgate may name. */
export const CATALOGUED_SERIES_NAMES: ReadonlySet<string> = new Set(ALL_METRICS.flatMap(seriesNamesOf));
