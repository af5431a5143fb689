/**
 * Every environment in wrangler.toml bundles and binds what the edge needs: `wrangler deploy
 * --dry-run` (no account, no network) for the top-level environment that `npm start` uses and
 * for staging and production. wrangler inherits no bindings into an environment, so a binding
 * added at the top level and forgotten in one environment is caught here, as is a bundle that
 * outgrows its budget.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  parseBindingTable,
  parseEntryExports,
  parseWarnings,
  type WranglerBinding,
  type WranglerDryRunResult,
  wranglerDeployDryRun,
} from "../src/deploy/wrangler-dry-run.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1024 * 1024;

/**
 * The edge's bundle budget (the modules wrangler would upload; source maps are not uploaded).
 * Measured 2026-12-03 with wrangler 4.164.0: 2,098,508 bytes raw (2049.3 KiB, 2.00 MiB) and
 * 377,368 bytes gzip (368.5 KiB, 0.36 MiB). Workers allow 3 MiB gzip on the free plan and 10 MiB
 * on paid plans; the budget leaves about a quarter of headroom so that growth is a decision
 * someone makes (raise it here, with the new figures), not something that happens unnoticed.
 */
const BUNDLE_BUDGET = { bytes: 2.5 * MiB, gzipBytes: 0.45 * MiB };

/** Every Durable Object binding the edge reads (edge/src/env.ts), with its class. */
const DURABLE_OBJECTS: Record<string, string> = {
  WORKER_POOL: "WorkerPool",
  API_KEYS: "ApiKeyStore",
  RATE_LIMITER: "RateLimiter",
  REGISTRY_COORDINATOR: "RegistryCoordinator",
  CONVERSION_QUEUE: "ConversionQueue",
  EVALUATION_QUEUE: "EvaluationQueue",
  METRICS: "MetricsAggregator",
  ROLLOUT_GUARD: "RolloutGuard",
};

interface Environment {
  label: string;
  /** `--env`; undefined is the top-level environment. */
  flag: string | undefined;
  registryBucket: string;
  analyticsDatabase: string;
  /** [vars] the environment must set, with their values. */
  vars: Record<string, string>;
}

const BASE_VARS = {
  MODELGATE_MAX_BODY_BYTES: "1048576",
  MODELGATE_MAX_TENSOR_BODY_BYTES: "8388608",
  MODELGATE_FORWARD_TIMEOUT_MS: "120000",
};
const DEPLOYED_VARS = { ...BASE_VARS, MODELGATE_LOG_LEVEL: "info", MODELGATE_METRICS_FLUSH_MS: "1000" };

const ENVIRONMENTS: Environment[] = [
  {
    label: "default (npm start)",
    flag: undefined,
    registryBucket: "modelgate-registry",
    analyticsDatabase: "modelgate-analytics",
    vars: BASE_VARS,
  },
  {
    label: "staging",
    flag: "staging",
    registryBucket: "modelgate-registry-staging",
    analyticsDatabase: "modelgate-analytics-staging",
    vars: DEPLOYED_VARS,
  },
  {
    label: "production",
    flag: "production",
    registryBucket: "modelgate-registry-production",
    analyticsDatabase: "modelgate-analytics-production",
    vars: DEPLOYED_VARS,
  },
];

const results = new Map<string, WranglerDryRunResult>();
const scratch: string[] = [];

async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

function resultFor(environment: Environment): WranglerDryRunResult {
  const result = results.get(environment.label);
  if (!result) throw new Error(`no dry run for ${environment.label}`);
  return result;
}

function bindingsOfType(bindings: readonly WranglerBinding[], type: string): WranglerBinding[] {
  return bindings.filter((binding) => binding.type === type);
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

beforeAll(async () => {
  // One after another: each dry run is an esbuild bundle of the whole edge (about a second);
  // in parallel on two cores they would only compete.
  for (const environment of ENVIRONMENTS) {
    const outDir = await scratchDir("modelgate-dry-run-");
    results.set(environment.label, await wranglerDeployDryRun({ cwd: REPO_ROOT, env: environment.flag, outDir }));
  }
  for (const environment of ENVIRONMENTS) {
    const { bundle } = resultFor(environment);
    console.log(
      `edge bundle, ${environment.label}: ${bundle.bytes} bytes (${kib(bundle.bytes)} KiB) raw, ` +
        `${bundle.gzipBytes} bytes (${kib(bundle.gzipBytes)} KiB) gzip; budget ` +
        `${kib(BUNDLE_BUDGET.bytes)} KiB raw / ${kib(BUNDLE_BUDGET.gzipBytes)} KiB gzip`,
    );
  }
});

afterAll(async () => {
  await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe.each(ENVIRONMENTS)("wrangler deploy --dry-run, $label", (environment) => {
  it("succeeds without a warning", () => {
    const result = resultFor(environment);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain("--dry-run: exiting now.");
    expect(result.warnings).toEqual([]);
  });

  it("stays within the bundle budget, measured as wrangler reports it", () => {
    const { bundle, reportedUploadKiB } = resultFor(environment);
    expect(bundle.files.map((file) => file.path)).toContain("index.js");
    expect(bundle.bytes).toBeLessThanOrEqual(BUNDLE_BUDGET.bytes);
    expect(bundle.gzipBytes).toBeLessThanOrEqual(BUNDLE_BUDGET.gzipBytes);
    // The same figures wrangler prints (to its two decimals), so the budget means what it says.
    expect(reportedUploadKiB).toBeDefined();
    expect(Math.abs((reportedUploadKiB?.bytes ?? 0) - bundle.bytes / 1024)).toBeLessThan(0.01);
    expect(Math.abs((reportedUploadKiB?.gzipBytes ?? 0) - bundle.gzipBytes / 1024)).toBeLessThan(0.01);
  });

  it("binds every Durable Object class, and the bundle exports each one", () => {
    const { bindings, entryExports } = resultFor(environment);
    const durableObjects = bindingsOfType(bindings, "Durable Object");
    expect(Object.fromEntries(durableObjects.map((binding) => [binding.name, binding.detail]))).toEqual(
      DURABLE_OBJECTS,
    );
    // A class the bundle does not export cannot back a binding; one exported but unbound is
    // a Durable Object this list (and wrangler.toml) forgot.
    expect(entryExports.filter((name) => name !== "default").sort()).toEqual(Object.values(DURABLE_OBJECTS).sort());
  });

  it("binds its own R2 registry bucket and D1 analytics database", () => {
    const { bindings } = resultFor(environment);
    expect(bindingsOfType(bindings, "R2 Bucket")).toEqual([
      { name: "REGISTRY", detail: environment.registryBucket, type: "R2 Bucket" },
    ]);
    expect(bindingsOfType(bindings, "D1 Database")).toEqual([
      { name: "ANALYTICS", detail: environment.analyticsDatabase, type: "D1 Database" },
    ]);
  });

  it("sets its [vars]", () => {
    const vars = bindingsOfType(resultFor(environment).bindings, "Environment Variable");
    const values = Object.fromEntries(
      vars.map((binding) => [binding.name, binding.detail === undefined ? undefined : JSON.parse(binding.detail)]),
    );
    expect(values).toEqual(environment.vars);
  });
});

describe("wrangler environments together", () => {
  it("give staging and production the same kinds of binding as the default, nothing more or less", () => {
    const shape = (environment: Environment) =>
      resultFor(environment)
        .bindings.filter((binding) => binding.type !== "Environment Variable")
        .map((binding) => `${binding.type}: ${binding.name}`)
        .sort();
    const [defaults, ...deployed] = ENVIRONMENTS;
    if (!defaults) throw new Error("no default environment");
    for (const environment of deployed) expect(shape(environment), environment.label).toEqual(shape(defaults));
  });

  it("never share a bucket or a database between environments", () => {
    const buckets = ENVIRONMENTS.map((environment) => environment.registryBucket);
    const databases = ENVIRONMENTS.map((environment) => environment.analyticsDatabase);
    expect(new Set(buckets).size).toBe(ENVIRONMENTS.length);
    expect(new Set(databases).size).toBe(ENVIRONMENTS.length);
  });

  it("notices an environment that forgot bindings (negative control)", async () => {
    // The top-level part of wrangler.toml plus an environment with one Durable Object only.
    // wrangler still exits 0 here, which is why the tests above insist on no warnings.
    const source = await readFile(join(REPO_ROOT, "wrangler.toml"), "utf8");
    const topLevel = source.split(/^\[env\./m)[0] ?? "";
    const dir = await scratchDir("modelgate-dry-run-broken-");
    const configPath = join(dir, "wrangler.toml");
    await writeFile(
      configPath,
      `${topLevel
        .replace(/^main = .*$/m, `main = ${JSON.stringify(join(REPO_ROOT, "edge/src/index.ts"))}`)
        .replace(/^directory = .*$/m, `directory = ${JSON.stringify(join(REPO_ROOT, "edge/console/dist"))}`)}\n` +
        `[env.broken]\nname = "modelgate-edge-broken"\n\n` +
        `[[env.broken.durable_objects.bindings]]\nname = "WORKER_POOL"\nclass_name = "WorkerPool"\n`,
    );
    const result = await wranglerDeployDryRun({
      cwd: dir,
      configPath,
      env: "broken",
      outDir: await scratchDir("modelgate-dry-run-out-"),
    });
    expect(result.exitCode, result.output).toBe(0);
    const warning = result.warnings.join("\n");
    expect(warning).toContain('"r2_buckets" exists at the top level, but not on "env.broken"');
    expect(warning).toContain('"d1_databases" exists at the top level, but not on "env.broken"');
    expect(warning).toContain("- API_KEYS");
    expect(bindingsOfType(result.bindings, "Durable Object").map((binding) => binding.name)).toEqual(["WORKER_POOL"]);
  });
});

describe("wrangler output parsing", () => {
  it("reads the binding table and stops at its end", () => {
    const output = [
      "Total Upload: 2049.32 KiB / gzip: 368.52 KiB",
      "Your Worker has access to the following bindings:",
      "Binding                                  Resource            ",
      "env.WORKER_POOL (WorkerPool)             Durable Object      ",
      'env.MODELGATE_LOG_LEVEL ("info")         Environment Variable',
      "",
      "--dry-run: exiting now.",
    ].join("\n");
    expect(parseBindingTable(output)).toEqual([
      { name: "WORKER_POOL", detail: "WorkerPool", type: "Durable Object" },
      { name: "MODELGATE_LOG_LEVEL", detail: '"info"', type: "Environment Variable" },
    ]);
    expect(parseBindingTable("no table here")).toEqual([]);
  });

  it("collects each warning with the lines under it", () => {
    const output = '▲ [WARNING] Processing wrangler.toml configuration:\n\n    - "vars" missing\n\nTotal Upload: 1 KiB';
    expect(parseWarnings(output)).toEqual(['WARNING: Processing wrangler.toml configuration:\n- "vars" missing']);
    expect(parseWarnings("Total Upload: 1 KiB")).toEqual([]);
  });

  it("reads the entry module's export list, renames included", () => {
    const source =
      "var a = 1;\nexport {\n  ApiKeyStore,\n  WorkerPool,\n  index_default as default\n};\n//# sourceMappingURL=index.js.map";
    expect(parseEntryExports(source)).toEqual(["ApiKeyStore", "WorkerPool", "default"]);
  });
});
