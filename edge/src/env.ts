import type { CawsTier, Scope } from "@modelgate/shared";
import { z } from "zod";
import type { ConversionQueue } from "./conversions/conversion-queue-object.js";
import type { EvaluationQueue } from "./evaluations/evaluation-queue-object.js";
import type { ApiKeyStore } from "./keys/api-key-store-object.js";
import type { RateLimiter } from "./keys/rate-limiter-object.js";
import { LOG_LEVELS } from "./logging/edge-log.js";
import type { MetricsAggregator } from "./metrics/metrics-aggregator-object.js";
import type { WorkerPool } from "./pool/worker-pool-object.js";
import type { RegistryCoordinator } from "./registry/registry-coordinator-object.js";
import type { RolloutGuard } from "./rollouts/rollout-guard-object.js";

/** Bindings declared in wrangler.toml plus the secrets set with `wrangler secret put`. */
export interface EdgeBindings {
  REGISTRY: R2Bucket;
  WORKER_POOL: DurableObjectNamespace<WorkerPool>;
  API_KEYS: DurableObjectNamespace<ApiKeyStore>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  REGISTRY_COORDINATOR: DurableObjectNamespace<RegistryCoordinator>;
  /** The conversion job queue (one instance): jobs, their leases and the alarm that hands expired ones back. */
  CONVERSION_QUEUE: DurableObjectNamespace<ConversionQueue>;
  /** One per model: the alarm that evaluates its canary rollout's guard every window. */
  ROLLOUT_GUARD: DurableObjectNamespace<RolloutGuard>;
  /** The evaluation job queue (one instance): the same leased-job queue as conversions, its own table. */
  EVALUATION_QUEUE: DurableObjectNamespace<EvaluationQueue>;
  /** The web console's built files (`[assets]` in wrangler.toml), served under /console. */
  ASSETS?: Fetcher;
  /** The edge's counters and histograms, added up over every isolate (one instance). */
  METRICS: DurableObjectNamespace<MetricsAggregator>;
  /** Selection events (D1). Optional: without it the edge serves, records nothing, and analytics answer 503. */
  ANALYTICS?: D1Database;
  MODELGATE_ADMIN_KEY?: string;
  /** The shared worker token: accepted only while MODELGATE_LEGACY_WORKER_TOKEN is on. */
  MODELGATE_WORKER_TOKEN?: string;
  MODELGATE_LEGACY_WORKER_TOKEN?: string;
  MODELGATE_SIGNING_SECRET?: string;
  /** Optional: a bearer token that opens `GET /metrics` (and nothing else) for a Prometheus server. */
  MODELGATE_METRICS_TOKEN?: string;
  MODELGATE_METRICS?: string;
  MODELGATE_METRICS_FLUSH_MS?: string;
  MODELGATE_LOG_LEVEL?: string;
  MODELGATE_MAX_BODY_BYTES?: string;
  MODELGATE_MAX_TENSOR_BODY_BYTES?: string;
  MODELGATE_FORWARD_TIMEOUT_MS?: string;
  MODELGATE_CIRCUIT_FAILURE_THRESHOLD?: string;
  MODELGATE_CIRCUIT_COOLDOWN_MS?: string;
  MODELGATE_CONVERSION_LEASE_MS?: string;
  MODELGATE_EVALUATION_LEASE_MS?: string;
  MODELGATE_ROUTING_RECORD_CACHE_MS?: string;
  MODELGATE_ROUTING_VIEW_CACHE_MS?: string;
  MODELGATE_ANALYTICS_BATCH_MS?: string;
  /** S3 (or any S3-compatible store) holding model artifacts; see artifacts/s3-artifact-store.ts. */
  MODELGATE_S3_ENDPOINT?: string;
  /** Where clients reach S3, when it differs from where the edge does (used in presigned URLs). */
  MODELGATE_S3_PUBLIC_ENDPOINT?: string;
  MODELGATE_S3_BUCKET?: string;
  MODELGATE_S3_REGION?: string;
  MODELGATE_S3_ACCESS_KEY_ID?: string;
  MODELGATE_S3_SECRET_ACCESS_KEY?: string;
  MODELGATE_UPLOAD_MULTIPART_THRESHOLD_BYTES?: string;
  MODELGATE_UPLOAD_PART_BYTES?: string;
  MODELGATE_UPLOAD_URL_TTL_SECONDS?: string;
}

const secret = (name: string) =>
  z
    .string({ error: `${name} is not set (wrangler secret put ${name} --env <environment>, or the local env file)` })
    .min(16, `${name} must be at least 16 characters`);

/** Validated once per isolate; a missing secret is a clear 500 naming it, never a silent open door. */
export const EdgeConfigFieldsSchema = z.object({
  MODELGATE_ADMIN_KEY: secret("MODELGATE_ADMIN_KEY"),
  /**
   * Legacy mode: every worker shares MODELGATE_WORKER_TOKEN and may heartbeat as any id from any
   * URL. Off by default; enrolled workers (`modelgate workers enroll`) each hold their own credential.
   */
  MODELGATE_LEGACY_WORKER_TOKEN: z
    .enum(["on", "off", "true", "false", "1", "0"], "MODELGATE_LEGACY_WORKER_TOKEN must be on or off")
    .default("off")
    .transform((value) => ["on", "true", "1"].includes(value)),
  MODELGATE_WORKER_TOKEN: secret("MODELGATE_WORKER_TOKEN").optional(),
  MODELGATE_SIGNING_SECRET: secret("MODELGATE_SIGNING_SECRET"),
  MODELGATE_METRICS_TOKEN: z.string().min(16, "MODELGATE_METRICS_TOKEN must be at least 16 characters").optional(),
  /** Record request metrics (`off` for the metrics-cost benchmark; /metrics still answers). */
  MODELGATE_METRICS: z
    .enum(["on", "off", "true", "false", "1", "0"], "MODELGATE_METRICS must be on or off")
    .default("on")
    .transform((value) => ["on", "true", "1"].includes(value)),
  /** Each isolate sends its metric sums to the aggregator once per window (0: after every request). */
  MODELGATE_METRICS_FLUSH_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** One JSON line per request at `info`; `debug` adds detail, `warn` keeps only problems. */
  MODELGATE_LOG_LEVEL: z
    .enum(LOG_LEVELS, `MODELGATE_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`)
    .default("info"),
  MODELGATE_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(1024 * 1024),
  /**
   * Tensor inference bodies (`/v2/models/:m/infer`, seed 004's `/predict`), and the bytes their
   * tensors take once decoded: an image batch is larger than any JSON request elsewhere.
   */
  MODELGATE_MAX_TENSOR_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(8 * 1024 * 1024),
  MODELGATE_FORWARD_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(120_000),
  /** Consecutive failed forwards that open a worker's circuit, and how long it stays open. */
  MODELGATE_CIRCUIT_FAILURE_THRESHOLD: z.coerce.number().int().min(1).max(100).default(3),
  MODELGATE_CIRCUIT_COOLDOWN_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /**
   * How long a claimed conversion job stays with its worker without a progress report; after
   * that it goes back to the queue (or fails after its last attempt). Workers renew well inside it.
   */
  MODELGATE_CONVERSION_LEASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** The same for evaluation jobs; a worker reports every finished part and renews well inside it. */
  MODELGATE_EVALUATION_LEASE_MS: z.coerce.number().int().min(100).max(3_600_000).default(30_000),
  /** How long an isolate reuses a model's record for routing (0: read R2 every request). */
  MODELGATE_ROUTING_RECORD_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How long an isolate reuses the pool's fleet view (0: ask the Durable Object every request). */
  MODELGATE_ROUTING_VIEW_CACHE_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  /** Selection events are written to D1 in batches collected over this window (0: one write per request). */
  MODELGATE_ANALYTICS_BATCH_MS: z.coerce.number().int().min(0).max(10_000).default(500),
  // Object storage is checked where it is used (artifactStoreFromBindings): an edge without S3
  // still authenticates and serves inference, and uploads/registration answer 503 naming the
  // missing variable. Only the shape of what is set is checked here.
  MODELGATE_S3_ENDPOINT: z.url().optional(),
  MODELGATE_S3_PUBLIC_ENDPOINT: z.url().optional(),
  MODELGATE_S3_BUCKET: z.string().optional(),
  MODELGATE_S3_REGION: z.string().min(1).default("us-east-1"),
  MODELGATE_S3_ACCESS_KEY_ID: z.string().optional(),
  MODELGATE_S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Uploads larger than this use S3 multipart with presigned part URLs. */
  MODELGATE_UPLOAD_MULTIPART_THRESHOLD_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * 1024 * 1024),
  /** S3 requires ≥ 5 MiB parts (bar the last); smaller values are for local S3 in tests. */
  MODELGATE_UPLOAD_PART_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(5 * 1024 ** 3)
    .default(16 * 1024 * 1024),
  MODELGATE_UPLOAD_URL_TTL_SECONDS: z.coerce.number().int().min(60).max(604_800).default(3600),
});

/** The fields above plus the rules between them. */
export const EdgeConfigSchema = EdgeConfigFieldsSchema.superRefine((config, context) => {
  if (config.MODELGATE_LEGACY_WORKER_TOKEN && config.MODELGATE_WORKER_TOKEN === undefined) {
    context.addIssue({
      code: "custom",
      path: ["MODELGATE_WORKER_TOKEN"],
      message: "MODELGATE_WORKER_TOKEN is not set, but MODELGATE_LEGACY_WORKER_TOKEN is on",
    });
  }
});
export type EdgeConfig = z.infer<typeof EdgeConfigSchema>;

/** Who is calling: resolved by the authenticate middleware, read by route handlers. */
export interface Principal {
  id: string;
  kind: "admin-key" | "worker-token" | "worker-credential" | "api-key";
  scopes: readonly Scope[];
  /** Requests per minute, enforced across isolates; absent means unlimited. */
  rpm?: number | undefined;
  /** The strictest CAWS tier this caller's inference runs at. */
  maxTier?: CawsTier | undefined;
  /** Set for an enrolled worker's credential: the one worker id it may act as, and where it may be. */
  worker?: { id: string; urlPattern: string; credentialSha256: string } | undefined;
}

export interface EdgeVariables {
  requestId: string;
  /** `Date.now()` when the request reached the edge (for `x-modelgate-overhead-ms`). */
  startedAt: number;
  config: EdgeConfig;
  principal: Principal;
  /** Set by routing once a worker answered: the model and worker for metrics and the request log. */
  routed?: RoutedTo;
  /** Set when a canary rollout's split chose the version (rollouts/rollout-split.ts): which arm, echoed in a header. */
  rolloutArm?: RolloutArm;
}

export interface RolloutArm {
  rolloutId: string;
  arm: "candidate" | "production";
}

export interface RoutedTo {
  model: string;
  version: number;
  /** The converted format served, or `fp32` for the registered original. */
  format: string;
  workerId: string;
}

export interface AppEnv {
  Bindings: EdgeBindings;
  Variables: EdgeVariables;
}
