/**
 * GPU worker configuration: read once from the environment at start-up and validated with zod,
 * so a bad deployment fails immediately with every problem named instead of at the first request.
 */
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import {
  DEFAULT_RUNTIME_CONFIG,
  GPU_MONITOR_INTERVAL_MS,
  layerRuntimeConfig,
  ModelgateError,
  type RuntimeConfig,
  type RuntimeConfigOverrides,
  RuntimeConfigOverridesSchema,
  runtimeConfigOverridesFromEnv,
} from "@modelgate/shared";
import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "./logger.js";

export type ExecutionProvider = "cpu" | "cuda";

export interface S3Config {
  /** Undefined means the AWS default endpoint for `region`. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  /** Both undefined means the AWS SDK's default credential chain (instance role, profile…). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export interface WorkerConfig {
  edgeUrl: string;
  workerId: string;
  /** The legacy shared token (used only when neither an enrolment token nor a stored credential is there). */
  workerToken: string | undefined;
  /** One-time token from `modelgate workers enroll`, exchanged at start-up for this worker's credential. */
  enrolmentToken: string | undefined;
  /** Where the exchanged credential is kept (mode 600), so a restart needs no new enrolment token. */
  credentialFile: string;
  signingSecret: string;
  /** The URL the edge forwards to; undefined means `http://127.0.0.1:<the port actually bound>`. */
  workerUrl: string | undefined;
  s3: S3Config;
  cacheDir: string;
  port: number;
  host: string;
  gpuMonitorIntervalMs: number;
  maxBodyBytes: number;
  inferenceThreads: number;
  /** ONNX Runtime intra-op threads per session. */
  intraOpThreads: number;
  executionProviders: ExecutionProvider[];
  /** Most sequences of one model decoding together in a batch. */
  maxBatchSize: number;
  /** Memory the loaded models may take together (their registry `memory_mb`); idle ones are evicted, least recently used first. */
  modelMemoryBudgetMb: number;
  /** DEFAULT_RUNTIME_CONFIG < MODELGATE_RUNTIME_CONFIG_FILE < seed 000 env vars. */
  runtimeConfig: RuntimeConfig;
  /** How often an idle worker asks the edge for a conversion job; 0: this worker takes none. */
  conversionPollMs: number;
  /** How often an idle worker asks the edge for an evaluation job; 0: this worker takes none. */
  evaluationPollMs: number;
  /** Bearer token `GET /metrics` asks for; undefined leaves it open (bind HOST to a private address). */
  metricsToken: string | undefined;
  /** False records no request metrics (the metrics-cost benchmark); /metrics still answers. */
  metricsEnabled: boolean;
  /** SIGTERM drain: the longest it waits for work in flight before it stops anyway. */
  drainTimeoutMs: number;
  /** SIGTERM drain: how long no new request must arrive before it stops (edges may route on a view a moment old). */
  drainQuietMs: number;
  logLevel: LogLevel;
}

export type WorkerEnv = Readonly<Record<string, string | undefined>>;

/** Thrown by `loadWorkerConfig`; `problems` names each offending variable. */
export class WorkerConfigError extends Error {
  readonly problems: ReadonlyArray<{ variable: string; message: string }>;

  constructor(problems: ReadonlyArray<{ variable: string; message: string }>) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    super(`Invalid gpu-worker configuration (${problems.length} problem(s)):\n${lines.join("\n")}`);
    this.name = "WorkerConfigError";
    this.problems = problems;
  }
}

export const DEFAULT_PORT = 8790;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Unset and blank variables both mean "use the default": `FOO=` in a .env file is common. */
const optionalText = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
  z.string().trim().optional(),
);
const requiredText = (what: string) =>
  z.preprocess(
    (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
    z.string({ error: (issue) => (issue.input === undefined ? `is required (${what})` : "must be a string") }).trim(),
  );
const integerVar = (min: number, max: number, fallback: number) =>
  optionalText.pipe(
    z
      .string()
      .regex(/^[0-9]+$/, "must be a whole number")
      .transform(Number)
      .pipe(z.int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .optional()
      .transform((v) => v ?? fallback),
  );
const booleanVar = (fallback: boolean) =>
  optionalText.pipe(
    z
      .enum(["1", "0", "true", "false", "yes", "no", "on", "off"], "must be true/false, 1/0, yes/no or on/off")
      .transform((v) => ["1", "true", "yes", "on"].includes(v))
      .optional()
      .transform((v) => v ?? fallback),
  );
const logLevel = z
  .string()
  .transform((v) => (v.toLowerCase() === "warning" ? "warn" : v.toLowerCase()))
  .pipe(z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`));
const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform((v) => v.replace(/\/+$/, ""));

const WorkerEnvSchema = z.object({
  MODELGATE_EDGE_URL: requiredText("the edge base URL, e.g. http://127.0.0.1:8787").pipe(httpUrl),
  MODELGATE_WORKER_ID: optionalText.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1–64 characters of A-Z, a-z, 0-9, '.', '_' or '-'")
      .optional(),
  ),
  MODELGATE_WORKER_TOKEN: optionalText,
  MODELGATE_ENROLMENT_TOKEN: optionalText.pipe(
    z
      .string()
      .regex(/^mge_[A-Za-z0-9_-]+\.[0-9a-f]{64}$/, "must be a token from `modelgate workers enroll`")
      .optional(),
  ),
  MODELGATE_CREDENTIAL_FILE: optionalText.transform((v) => v ?? ".modelgate/worker-credential"),
  MODELGATE_DRAIN_TIMEOUT_MS: integerVar(0, 3_600_000, 60_000),
  MODELGATE_DRAIN_QUIET_MS: integerVar(0, 60_000, 1000),
  MODELGATE_SIGNING_SECRET: requiredText("the HMAC secret shared with the edge").pipe(
    z.string().min(16, "must be at least 16 characters"),
  ),
  MODELGATE_WORKER_URL: optionalText.pipe(httpUrl.optional()),
  S3_ENDPOINT: optionalText.pipe(httpUrl.optional()),
  S3_BUCKET: requiredText("the artifact bucket").pipe(
    z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a 3–63 character bucket name"),
  ),
  S3_ACCESS_KEY_ID: optionalText,
  S3_SECRET_ACCESS_KEY: optionalText,
  S3_REGION: optionalText.transform((v) => v ?? "us-east-1"),
  S3_FORCE_PATH_STYLE: booleanVar(true),
  MODELGATE_CACHE_DIR: optionalText.transform((v) => v ?? ".modelgate/cache"),
  PORT: integerVar(0, 65535, DEFAULT_PORT),
  HOST: optionalText.transform((v) => v ?? "127.0.0.1"),
  GPU_MONITOR_INTERVAL_MS: integerVar(
    GPU_MONITOR_INTERVAL_MS.min,
    GPU_MONITOR_INTERVAL_MS.max,
    GPU_MONITOR_INTERVAL_MS.default,
  ),
  MODELGATE_MAX_BODY_BYTES: integerVar(1024, 1024 * 1024 * 1024, DEFAULT_MAX_BODY_BYTES),
  INFERENCE_THREADS: integerVar(1, 64, 1),
  INFERENCE_INTRA_OP_THREADS: integerVar(1, 256, 0),
  MODELGATE_MAX_BATCH_SIZE: integerVar(1, 256, 32),
  MODELGATE_MODEL_MEMORY_BUDGET_MB: integerVar(64, 16 * 1024 * 1024, 16 * 1024),
  MODELGATE_EXECUTION_PROVIDERS: optionalText.pipe(
    z
      .string()
      .transform((v) => v.split(",").map((p) => p.trim().toLowerCase()))
      .pipe(z.array(z.enum(["cpu", "cuda"], "must be a comma-separated list of cpu, cuda")).min(1))
      .optional(),
  ),
  MODELGATE_RUNTIME_CONFIG_FILE: optionalText,
  MODELGATE_CONVERSION_POLL_MS: integerVar(0, 600_000, 2000),
  MODELGATE_EVALUATION_POLL_MS: integerVar(0, 600_000, 2000),
  MODELGATE_METRICS_TOKEN: optionalText.pipe(z.string().min(16, "must be at least 16 characters").optional()),
  MODELGATE_METRICS: booleanVar(true),
  MODELGATE_LOG_LEVEL: optionalText.pipe(logLevel.optional()),
  // Seed 004's name, read when MODELGATE_LOG_LEVEL is not set ("warning" as Python spells it).
  LOG_LEVEL: optionalText.pipe(logLevel.optional()),
});

type Problem = { variable: string; message: string };

/**
 * Reads and validates the worker's configuration. Throws a `WorkerConfigError` whose message
 * lists every problem, each naming its environment variable.
 */
export function loadWorkerConfig(env: WorkerEnv): WorkerConfig {
  const problems: Problem[] = [];
  const parsed = WorkerEnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push({ variable: String(issue.path[0] ?? "environment"), message: issue.message });
    }
  }
  const fileOverrides = readRuntimeConfigFile(env.MODELGATE_RUNTIME_CONFIG_FILE, problems);
  const envOverrides = readRuntimeConfigEnv(env, problems);
  if (parsed.success) {
    const { S3_ACCESS_KEY_ID: keyId, S3_SECRET_ACCESS_KEY: secret } = parsed.data;
    if ((keyId === undefined) !== (secret === undefined)) {
      const missing = keyId === undefined ? "S3_ACCESS_KEY_ID" : "S3_SECRET_ACCESS_KEY";
      problems.push({ variable: missing, message: "set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither" });
    }
    const { MODELGATE_ENROLMENT_TOKEN: enrolment, MODELGATE_WORKER_TOKEN: legacy } = parsed.data;
    if (enrolment === undefined && legacy === undefined && !existsSync(parsed.data.MODELGATE_CREDENTIAL_FILE)) {
      problems.push({
        variable: "MODELGATE_ENROLMENT_TOKEN",
        message: `is required (from \`modelgate workers enroll <id>\`) unless ${parsed.data.MODELGATE_CREDENTIAL_FILE} holds this worker's credential; the shared MODELGATE_WORKER_TOKEN is for edges in legacy mode`,
      });
    }
  }
  if (!parsed.success || problems.length > 0) throw new WorkerConfigError(problems);

  const vars = parsed.data;
  let runtimeConfig: RuntimeConfig;
  try {
    runtimeConfig = layerRuntimeConfig(DEFAULT_RUNTIME_CONFIG, fileOverrides, envOverrides);
  } catch (error) {
    throw new WorkerConfigError([{ variable: "runtime configuration", message: String(error) }]);
  }
  const threads = vars.INFERENCE_THREADS;
  return {
    edgeUrl: vars.MODELGATE_EDGE_URL,
    workerId: vars.MODELGATE_WORKER_ID ?? defaultWorkerId(vars.PORT),
    workerToken: vars.MODELGATE_WORKER_TOKEN,
    enrolmentToken: vars.MODELGATE_ENROLMENT_TOKEN,
    credentialFile: vars.MODELGATE_CREDENTIAL_FILE,
    signingSecret: vars.MODELGATE_SIGNING_SECRET,
    workerUrl: vars.MODELGATE_WORKER_URL,
    s3: {
      endpoint: vars.S3_ENDPOINT,
      bucket: vars.S3_BUCKET,
      region: vars.S3_REGION,
      forcePathStyle: vars.S3_FORCE_PATH_STYLE,
      credentials:
        vars.S3_ACCESS_KEY_ID !== undefined && vars.S3_SECRET_ACCESS_KEY !== undefined
          ? { accessKeyId: vars.S3_ACCESS_KEY_ID, secretAccessKey: vars.S3_SECRET_ACCESS_KEY }
          : undefined,
    },
    cacheDir: vars.MODELGATE_CACHE_DIR,
    port: vars.PORT,
    host: vars.HOST,
    gpuMonitorIntervalMs: vars.GPU_MONITOR_INTERVAL_MS,
    maxBodyBytes: vars.MODELGATE_MAX_BODY_BYTES,
    inferenceThreads: threads,
    // Leave one core to the HTTP loop (health, heartbeats) and share the rest between threads.
    intraOpThreads: vars.INFERENCE_INTRA_OP_THREADS || Math.max(1, Math.floor((availableParallelism() - 1) / threads)),
    executionProviders: vars.MODELGATE_EXECUTION_PROVIDERS ?? ["cpu"],
    maxBatchSize: vars.MODELGATE_MAX_BATCH_SIZE,
    modelMemoryBudgetMb: vars.MODELGATE_MODEL_MEMORY_BUDGET_MB,
    runtimeConfig,
    conversionPollMs: vars.MODELGATE_CONVERSION_POLL_MS,
    evaluationPollMs: vars.MODELGATE_EVALUATION_POLL_MS,
    metricsToken: vars.MODELGATE_METRICS_TOKEN,
    metricsEnabled: vars.MODELGATE_METRICS,
    drainTimeoutMs: vars.MODELGATE_DRAIN_TIMEOUT_MS,
    drainQuietMs: vars.MODELGATE_DRAIN_QUIET_MS,
    logLevel: vars.MODELGATE_LOG_LEVEL ?? vars.LOG_LEVEL ?? "info",
  };
}

/** Host name plus port, so two workers on one machine do not overwrite each other's heartbeats. */
function defaultWorkerId(port: number): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 50) || "worker";
  return port === 0 ? host : `${host}-${port}`;
}

/** Seed 000's variables, read one at a time so that every malformed one is reported, not just the first. */
function readRuntimeConfigEnv(env: WorkerEnv, problems: Problem[]): RuntimeConfigOverrides {
  try {
    return runtimeConfigOverridesFromEnv(env);
  } catch (error) {
    if (!(error instanceof ModelgateError)) throw error;
    for (const problem of error.fieldErrors ?? []) problems.push({ variable: problem.field, message: problem.message });
    return {};
  }
}

function readRuntimeConfigFile(path: string | undefined, problems: Problem[]): RuntimeConfigOverrides | undefined {
  if (path === undefined || path.trim() === "") return undefined;
  const variable = "MODELGATE_RUNTIME_CONFIG_FILE";
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = error instanceof SyntaxError ? "is not valid JSON" : "cannot be read";
    problems.push({
      variable,
      message: `${path} ${reason} (${error instanceof Error ? error.message : String(error)})`,
    });
    return undefined;
  }
  const parsed = RuntimeConfigOverridesSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.map(String).join(".");
      problems.push({ variable, message: `${path}: ${field ? `${field}: ` : ""}${issue.message}` });
    }
    return undefined;
  }
  return parsed.data;
}
