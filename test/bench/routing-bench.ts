/**
 * `npm run bench -- --only routing`: issue 5's forwarding benchmarks on the local stack.
 *
 * 1. Edge overhead at a steady 200 requests/s (open loop: each request leaves on a fixed
 *    schedule, whether or not earlier ones have answered), in alternating blocks: a one-row
 *    `spirals` predict through the edge vs the same request signed straight to the worker.
 *    Predict rather than a 1-token generate: it is the least work a worker does (one tiny ONNX
 *    run, no tokenizer, no decode scheduler), so the difference is the edge and not the worker.
 *    The same at 50 requests/s, where `wrangler dev` keeps up, and the floor of `wrangler dev`
 *    itself (a route with no auth, storage or forward), to show what the 200/s figure is made of.
 * 2. Load-aware vs round-robin on a skewed fleet (skewed-fleet-bench.ts).
 */
import type { LocalStack } from "@modelgate/infra/local-stack";
import { type BenchRow, fmt, mark, percentile } from "./bench-stats.js";
import { type OpenLoopRun, openLoop } from "./open-loop.js";
import { resolveWorkerTarget, signedHeaders } from "./signed-worker-call.js";
import { benchSkewedFleet } from "./skewed-fleet-bench.js";

export interface RoutingBenchResult {
  rows: BenchRow[];
  notes: string[];
}

export async function benchRouting(stack: LocalStack): Promise<RoutingBenchResult> {
  const overhead = await benchEdgeOverhead(stack);
  const skewed = await benchSkewedFleet(stack);
  return { rows: [...overhead.rows, ...skewed.rows], notes: [...overhead.notes, ...skewed.notes] };
}

const RATE_PER_SECOND = 200;
/** Blocks alternate edge / direct; BLOCKS / 2 × BLOCK_MS is the time each way. */
const BLOCKS = 10;
const BLOCK_MS = 2000;
/** A second, lower rate at which `wrangler dev` keeps up, so the added latency without queueing is visible. */
const DIAGNOSTIC_RATE_PER_SECOND = 50;
const DIAGNOSTIC_BLOCKS = 4;
const WARM_UP_MS = 1000;

interface Sample {
  ms: number;
  ok: boolean;
  /** `x-modelgate-overhead-ms` (edge answers only). */
  overheadMs?: number;
  /** Why a failed request failed (status and body start, or the error). */
  failure?: string;
}

/** Never rejects: a failed request is a sample with `ok: false`. */
function safely(send: () => Promise<Sample>): () => Promise<Sample> {
  return () => send().catch((error: unknown) => ({ ms: Number.NaN, ok: false, failure: String(error) }));
}

const failureOf = (response: Response, text: string): Pick<Sample, "failure"> =>
  response.ok ? {} : { failure: `${response.status} ${text.slice(0, 160)}` };

interface OverheadRun {
  edgeMs: number[];
  directMs: number[];
  /** The edge's own `x-modelgate-overhead-ms`. */
  overheadMs: number[];
  failed: number;
  /** Each distinct failure and how often it happened, edge and direct apart. */
  failures: Map<string, number>;
  lagMs: number[];
}

/** `blocks` open-loop blocks at `rate`, alternating edge (even blocks) and direct (odd), after a warm-up of each. */
async function alternateBlocks(
  rate: number,
  blocks: number,
  viaEdge: () => Promise<Sample>,
  direct: () => Promise<Sample>,
): Promise<OverheadRun> {
  await openLoop(rate, WARM_UP_MS, safely(viaEdge));
  await openLoop(rate, WARM_UP_MS, safely(direct));
  const edgeRuns: OpenLoopRun<Sample>[] = [];
  const directRuns: OpenLoopRun<Sample>[] = [];
  for (let block = 0; block < blocks; block++) {
    if (block % 2 === 0) edgeRuns.push(await openLoop(rate, BLOCK_MS, safely(viaEdge)));
    else directRuns.push(await openLoop(rate, BLOCK_MS, safely(direct)));
  }
  const edge = edgeRuns.flatMap((run) => run.results);
  const straight = directRuns.flatMap((run) => run.results);
  const ms = (samples: Sample[]) => samples.filter((sample) => sample.ok).map((sample) => sample.ms);
  return {
    edgeMs: ms(edge),
    directMs: ms(straight),
    overheadMs: edge.flatMap((sample) =>
      sample.ok && sample.overheadMs !== undefined && Number.isFinite(sample.overheadMs) ? [sample.overheadMs] : [],
    ),
    failed: [...edge, ...straight].filter((sample) => !sample.ok).length,
    failures: countFailures([...edge.map((s) => ["edge", s] as const), ...straight.map((s) => ["direct", s] as const)]),
    lagMs: [...edgeRuns, ...directRuns].flatMap((run) => run.lagMs),
  };
}

function countFailures(samples: ReadonlyArray<readonly [string, Sample]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [path, sample] of samples) {
    if (sample.ok) continue;
    const key = `${path}: ${sample.failure ?? "?"}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const describe = (values: number[]) =>
  `p50 ${fmt(percentile(values, 50), 2)} ms, p99 ${fmt(percentile(values, 99), 2)} ms`;

async function benchEdgeOverhead(stack: LocalStack): Promise<RoutingBenchResult> {
  const spirals = stack.seeded.find((model) => model.name === "spirals");
  const target = await resolveWorkerTarget(stack, "spirals", spirals?.version ?? 1);
  const request = { model: "spirals", data: [[0.5, 0.3]] };
  const edgeBody = JSON.stringify(request);
  const directBody = JSON.stringify({ ...request, target });
  const edgeHeaders = { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" };

  const viaEdge = async (): Promise<Sample> => {
    const started = performance.now();
    const response = await fetch(`${stack.edgeUrl}/v1/predict`, {
      method: "POST",
      headers: edgeHeaders,
      body: edgeBody,
    });
    const text = await response.text();
    const ms = performance.now() - started;
    const overheadMs = Number(response.headers.get("x-modelgate-overhead-ms"));
    return { ms, ok: response.ok, overheadMs, ...failureOf(response, text) };
  };
  const direct = async (): Promise<Sample> => {
    // Signing is the caller's work, not the worker's: done before the clock starts.
    const headers = await signedHeaders(stack.signingSecret, stack.workerId, "/v1/predict", directBody);
    const started = performance.now();
    const response = await fetch(`${stack.workerUrl}/v1/predict`, { method: "POST", headers, body: directBody });
    const text = await response.text();
    return { ms: performance.now() - started, ok: response.ok, ...failureOf(response, text) };
  };
  // The floor of `wrangler dev` itself: a route with no auth, no storage and no forward.
  const trivial = async (): Promise<Sample> => {
    const started = performance.now();
    const response = await fetch(`${stack.edgeUrl}/v2/health/live`);
    await response.arrayBuffer();
    return { ms: performance.now() - started, ok: response.ok };
  };

  const rows: BenchRow[] = [];
  const notes: string[] = [];
  for (const [rate, blocks] of [
    [RATE_PER_SECOND, BLOCKS],
    [DIAGNOSTIC_RATE_PER_SECOND, DIAGNOSTIC_BLOCKS],
  ] as const) {
    const run = await alternateBlocks(rate, blocks, viaEdge, direct);
    const addedP50 = percentile(run.edgeMs, 50) - percentile(run.directMs, 50);
    const addedP99 = percentile(run.edgeMs, 99) - percentile(run.directMs, 99);
    const seconds = (blocks / 2) * (BLOCK_MS / 1000);
    const targets =
      rate === RATE_PER_SECOND
        ? `target ≤ 2 ms p50 ${mark(addedP50 <= 2)}, ≤ 5 ms p99 ${mark(addedP99 <= 5)}`
        : "diagnostic: below the edge's saturation under `wrangler dev`";
    rows.push(
      [
        `spirals predict (1 row) at a steady ${rate} req/s, open loop, ${blocks} alternating ${BLOCK_MS / 1000} s blocks (${seconds} s and ${run.edgeMs.length} requests each way): through the edge`,
        `${describe(run.edgeMs)}; the edge's own x-modelgate-overhead-ms ${describe(run.overheadMs)}`,
        `signed straight to the worker: ${describe(run.directMs)}`,
      ],
      [
        `edge overhead at ${rate} req/s: added latency (edge − direct)`,
        `**+${fmt(addedP50, 2)} ms at p50, +${fmt(addedP99, 2)} ms at p99**`,
        targets,
      ],
    );
    notes.push(
      `Edge overhead at ${rate} req/s: ${run.failed} failed request(s)${[...run.failures].map(([what, n]) => ` (${n}× ${what})`).join("")}; requests left on schedule within p99 ${fmt(percentile(run.lagMs, 99), 2)} ms (max ${fmt(Math.max(...run.lagMs), 1)} ms).`,
    );
  }
  const floor = (await openLoop(RATE_PER_SECOND, 2000, safely(trivial))).results.filter((s) => s.ok).map((s) => s.ms);
  rows.push([
    `floor of \`wrangler dev\`: GET /v2/health/live (no auth, no storage, no forward) at ${RATE_PER_SECOND} req/s, 2 s`,
    describe(floor),
    "—",
  ]);
  return { rows, notes };
}
