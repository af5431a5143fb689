import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_RUNTIME_CONFIG } from "@modelgate/shared";
import { describe, expect, it } from "vitest";
import { loadWorkerConfig, WorkerConfigError } from "../src/config.js";

const VALID = {
  MODELGATE_EDGE_URL: "http://127.0.0.1:8787/",
  MODELGATE_WORKER_TOKEN: "token",
  MODELGATE_SIGNING_SECRET: "0123456789abcdef",
  S3_ENDPOINT: "http://127.0.0.1:4568",
  S3_BUCKET: "models",
  S3_ACCESS_KEY_ID: "S3RVER",
  S3_SECRET_ACCESS_KEY: "S3RVER",
};

function problemsOf(env: Record<string, string | undefined>): WorkerConfigError {
  try {
    loadWorkerConfig(env);
  } catch (error) {
    if (error instanceof WorkerConfigError) return error;
    throw error;
  }
  throw new Error("expected the configuration to be refused");
}

describe("loadWorkerConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadWorkerConfig(VALID);
    expect(config).toMatchObject({
      edgeUrl: "http://127.0.0.1:8787",
      port: 8790,
      host: "127.0.0.1",
      cacheDir: ".modelgate/cache",
      gpuMonitorIntervalMs: 5000,
      maxBodyBytes: 10 * 1024 * 1024,
      inferenceThreads: 1,
      workerUrl: undefined,
      executionProviders: ["cpu"],
      s3: { region: "us-east-1", forcePathStyle: true, bucket: "models", endpoint: "http://127.0.0.1:4568" },
    });
    expect(config.workerId).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(config.workerId).toMatch(/-8790$/);
    expect(config.intraOpThreads).toBeGreaterThanOrEqual(1);
    expect(config.runtimeConfig).toEqual(DEFAULT_RUNTIME_CONFIG);
  });

  it("names every missing variable in one error", () => {
    const error = problemsOf({});
    const variables = error.problems.map((p) => p.variable);
    expect(variables).toEqual(expect.arrayContaining(["MODELGATE_EDGE_URL", "MODELGATE_SIGNING_SECRET", "S3_BUCKET"]));
    expect(error.message).toContain("MODELGATE_EDGE_URL: is required");
    expect(error.message).toContain("MODELGATE_SIGNING_SECRET: is required");
  });

  it("names invalid values", () => {
    const error = problemsOf({
      ...VALID,
      MODELGATE_SIGNING_SECRET: "short",
      MODELGATE_EDGE_URL: "ftp://edge",
      PORT: "eighty",
      GPU_MONITOR_INTERVAL_MS: "500",
      INFERENCE_THREADS: "0",
      MODELGATE_WORKER_ID: "has spaces",
      S3_FORCE_PATH_STYLE: "maybe",
    });
    const byVariable = Object.fromEntries(error.problems.map((p) => [p.variable, p.message]));
    expect(byVariable.MODELGATE_SIGNING_SECRET).toContain("at least 16");
    expect(byVariable.MODELGATE_EDGE_URL).toContain("http");
    expect(byVariable.PORT).toContain("whole number");
    expect(byVariable.GPU_MONITOR_INTERVAL_MS).toContain("at least 1000");
    expect(byVariable.INFERENCE_THREADS).toContain("at least 1");
    expect(byVariable.MODELGATE_WORKER_ID).toBeDefined();
    expect(byVariable.S3_FORCE_PATH_STYLE).toBeDefined();
  });

  it("reads the metrics and log settings, seed 004's LOG_LEVEL included", () => {
    expect(loadWorkerConfig(VALID)).toMatchObject({ metricsToken: undefined, metricsEnabled: true, logLevel: "info" });
    expect(
      loadWorkerConfig({
        ...VALID,
        MODELGATE_METRICS_TOKEN: "metrics-token-0123456789",
        MODELGATE_METRICS: "off",
        LOG_LEVEL: "WARNING",
      }),
    ).toMatchObject({ metricsToken: "metrics-token-0123456789", metricsEnabled: false, logLevel: "warn" });
    // MODELGATE_LOG_LEVEL wins over LOG_LEVEL.
    expect(loadWorkerConfig({ ...VALID, LOG_LEVEL: "debug", MODELGATE_LOG_LEVEL: "error" }).logLevel).toBe("error");
    const byVariable = Object.fromEntries(
      problemsOf({
        ...VALID,
        MODELGATE_METRICS_TOKEN: "short",
        MODELGATE_LOG_LEVEL: "loud",
        MODELGATE_METRICS: "maybe",
      }).problems.map((p) => [p.variable, p.message]),
    );
    expect(byVariable.MODELGATE_METRICS_TOKEN).toContain("at least 16");
    expect(byVariable.MODELGATE_LOG_LEVEL).toContain("debug, info, warn, error, silent");
    expect(byVariable.MODELGATE_METRICS).toBeDefined();
  });

  it("refuses half a pair of S3 credentials", () => {
    const error = problemsOf({ ...VALID, S3_SECRET_ACCESS_KEY: undefined });
    expect(error.problems).toEqual([{ variable: "S3_SECRET_ACCESS_KEY", message: expect.stringContaining("both") }]);
  });

  it("accepts port 0, an explicit worker URL and the monitor interval range", () => {
    const config = loadWorkerConfig({
      ...VALID,
      PORT: "0",
      MODELGATE_WORKER_URL: "http://10.0.0.7:8790",
      GPU_MONITOR_INTERVAL_MS: "10000",
      S3_FORCE_PATH_STYLE: "false",
    });
    expect(config.port).toBe(0);
    expect(config.workerUrl).toBe("http://10.0.0.7:8790");
    expect(config.gpuMonitorIntervalMs).toBe(10000);
    expect(config.s3.forcePathStyle).toBe(false);
    expect(() => loadWorkerConfig({ ...VALID, GPU_MONITOR_INTERVAL_MS: "10001" })).toThrow(/GPU_MONITOR_INTERVAL_MS/);
  });

  it("layers runtime_config.json under seed 000's env vars", async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-config-"));
    const file = join(dir, "runtime_config.json");
    await writeFile(file, JSON.stringify({ caws_tier: "tier_3", max_new_tokens: 64, halt_probability_threshold: 0.5 }));
    const config = loadWorkerConfig({
      ...VALID,
      MODELGATE_RUNTIME_CONFIG_FILE: file,
      CAWS_TIER: "tier_1",
      HALT_HEAD: "off",
    });
    expect(config.runtimeConfig).toMatchObject({
      caws_tier: "tier_1",
      max_new_tokens: 64,
      halt_probability_threshold: 0.5,
      halt_head_enabled: false,
    });
  });

  it("names seed 000 env vars and runtime_config.json problems", async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-config-"));
    const file = join(dir, "runtime_config.json");
    await writeFile(file, JSON.stringify({ caws_tier: "tier_9" }));
    const error = problemsOf({
      ...VALID,
      MODELGATE_RUNTIME_CONFIG_FILE: file,
      HALT_HEAD: "perhaps",
      MAX_REFINEMENT_LOOPS: "lots",
    });
    const variables = error.problems.map((p) => p.variable);
    expect(variables).toEqual(
      expect.arrayContaining(["HALT_HEAD", "MAX_REFINEMENT_LOOPS", "MODELGATE_RUNTIME_CONFIG_FILE"]),
    );
    expect(error.message).toContain("caws_tier");

    const missing = problemsOf({ ...VALID, MODELGATE_RUNTIME_CONFIG_FILE: join(dir, "absent.json") });
    expect(missing.problems[0]?.variable).toBe("MODELGATE_RUNTIME_CONFIG_FILE");
    expect(missing.message).toContain("cannot be read");
  });
});
