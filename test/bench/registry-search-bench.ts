/**
 * The registry search benchmark: 10,000 versions (100 models × 100 versions), then a filtered,
 * metric-sorted page of 100 through the edge, p50 over repeated calls. The peer is the scan
 * this replaced (and MLflow's complaint, mlflow#13633): read every model document, then filter
 * and sort in memory.
 *
 * The versions are written straight into the local R2 state with wrangler's platform proxy
 * (registering 10,000 versions one by one through the API would take minutes), built by the
 * registry's own pure `registerVersion`; the coordinator then builds its index from R2 on
 * first use, as it does after any loss of the index.
 */
import { join } from "node:path";
import { REPO_ROOT } from "@modelgate/infra/local-stack";
import { type ModelRecord, RegisterVersionRequestSchema, type VersionSearchItem } from "@modelgate/shared";
import { getPlatformProxy } from "wrangler";
import { emptyRecord, registerVersion } from "../../edge/src/registry/registry-mutations.js";

export const BENCH_MODELS = 100;
export const BENCH_VERSIONS_PER_MODEL = 100;
const ROLES = ["asm", "chat", "code", "debug", "docs", "eval", "lore", "math", "vision", "voice"];

/** Deterministic pseudo-random metrics, so runs are comparable. */
function* seededFractions(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    yield state / 2 ** 32;
  }
}

function buildRecord(modelIndex: number, random: Generator<number>): ModelRecord {
  const name = `bench-${String(modelIndex).padStart(3, "0")}`;
  const at = new Date(Date.UTC(2026, 0, 1, 0, modelIndex)).toISOString();
  let record: ModelRecord = emptyRecord(name, at);
  for (let v = 0; v < BENCH_VERSIONS_PER_MODEL; v++) {
    const io = {
      inputs: [{ name: "features", dtype: "float32" as const, shape: ["batch", 2] }],
      outputs: [{ name: "probabilities", dtype: "float32" as const, shape: ["batch", 2] }],
    };
    const input = RegisterVersionRequestSchema.parse({
      kind: "tensor",
      artifact: {
        uri: `s3://modelgate-models/bench/${name}/${v}.onnx`,
        sha256: "e".repeat(64),
        bytes: 4096,
        format: "onnx",
      },
      io,
      role: ROLES[(modelIndex + v) % ROLES.length],
      tags: [`batch-${v % 5}`],
      notes: `benchmark version ${v} of ${name}`,
      metrics: { val_acc: 0.7 + 0.3 * (random.next().value ?? 0), final_loss: random.next().value ?? 0 },
      apply_policy: false,
    });
    const registered = registerVersion(record, name, { ...input, io, io_source: "declared" }, { actor: "bench", at });
    if (!registered.ok) throw registered.error;
    record = registered.value.record;
  }
  return record;
}

/** Writes the benchmark versions into the R2 state that `wrangler dev --persist-to <dataDir>/wrangler` uses. */
export async function populateBenchRegistry(dataDir: string): Promise<number> {
  const proxy = await getPlatformProxy<{ REGISTRY: { put(key: string, value: string): Promise<unknown> } }>({
    configPath: join(REPO_ROOT, "wrangler.toml"),
    persist: { path: join(dataDir, "wrangler", "v3") },
  });
  try {
    const random = seededFractions(42);
    let versions = 0;
    for (let m = 0; m < BENCH_MODELS; m++) {
      const record = buildRecord(m, random);
      await proxy.env.REGISTRY.put(`registry/models/${record.name}.json`, JSON.stringify(record));
      versions += record.versions.length;
    }
    return versions;
  } finally {
    await proxy.dispose();
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Rows for the benchmark table: [measurement, modelgate, peer / target]. */
export async function benchRegistrySearch(edgeUrl: string, adminKey: string): Promise<Array<[string, string, string]>> {
  const headers = { authorization: `Bearer ${adminKey}` };
  const getJson = async (path: string) => {
    const response = await fetch(`${edgeUrl}${path}`, { headers });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return response.json() as Promise<Record<string, unknown>>;
  };
  const query = "/v1/models?role=code&tag=batch-2&sort=metric:val_acc&limit=100";
  const broad = "/v1/models?sort=metric:val_acc&limit=100";
  // Rebuild the index from R2 (seeding the demo models already built it, without these).
  const rebuild = await fetch(`${edgeUrl}/v1/admin/registry/reindex`, { method: "POST", headers });
  if (!rebuild.ok) throw new Error(`reindex: ${rebuild.status} ${await rebuild.text()}`);
  const rebuildMs = await timed(() =>
    fetch(`${edgeUrl}/v1/admin/registry/reindex`, { method: "POST", headers }).then((r) => r.text()),
  );
  const first = await getJson(broad);
  if (Number(first.total) < BENCH_MODELS * BENCH_VERSIONS_PER_MODEL) {
    throw new Error(`expected ${BENCH_MODELS * BENCH_VERSIONS_PER_MODEL} versions indexed, found ${first.total}`);
  }
  const filtered: number[] = [];
  const sortedAll: number[] = [];
  const nextPage: number[] = [];
  const cursor = encodeURIComponent(String(first.next_cursor));
  for (let i = 0; i < 100; i++) {
    filtered.push(await timed(() => getJson(query)));
    sortedAll.push(await timed(() => getJson(broad)));
    nextPage.push(await timed(() => getJson(`${broad}&cursor=${cursor}`)));
  }
  // The peer: every model document read (in parallel), then filter + sort in memory.
  const scan: number[] = [];
  const names = Array.from({ length: BENCH_MODELS }, (_, m) => `bench-${String(m).padStart(3, "0")}`);
  for (let i = 0; i < 10; i++) {
    scan.push(
      await timed(async () => {
        const models = await Promise.all(names.map((name) => getJson(`/v1/models/${name}`)));
        const versions = models.flatMap((model) => model.versions as VersionSearchItem[]);
        versions
          .filter((v) => v.role === "code" && v.tags.includes("batch-2"))
          .sort((a, b) => (b.metrics.val_acc ?? 0) - (a.metrics.val_acc ?? 0))
          .slice(0, 100);
      }),
    );
  }
  const p = (values: number[]) =>
    `p50 ${percentile(values, 50).toFixed(1)} ms, p95 ${percentile(values, 95).toFixed(1)} ms`;
  return [
    [
      "registry search, 10,000 versions: role + tag filter, sorted by metric:val_acc, page of 100 (100 calls)",
      p(filtered),
      `scan of all 100 model documents + in-memory filter/sort: ${p(scan)} (10 runs); target p50 ≤ 50 ms`,
    ],
    [
      "registry search, 10,000 versions: no filter, sorted by metric:val_acc, page of 100",
      p(sortedAll),
      "target p50 ≤ 50 ms",
    ],
    ["registry search, second page through the cursor", p(nextPage), "—"],
    [
      "search index rebuilt from R2 (POST /v1/admin/registry/reindex, 10,000 versions)",
      `${rebuildMs.toFixed(0)} ms`,
      "—",
    ],
  ];
}
