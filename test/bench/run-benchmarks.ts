/**
 * `npm run bench`: starts the local stack on free ports and measures, side by side in one run,
 * the numbers this slice promises. Prints a Markdown table (paste into docs/benchmarks.md).
 *
 * - worker /health latency, idle and while a 512-token generation runs (target < 100 ms);
 * - greedy decode tokens/s: the stack (edge → worker thread) vs onnxruntime-node called
 *   directly in this process on the same model (the peer: no HTTP, no threads);
 * - edge overhead: the same signed request sent to the worker directly vs through the edge;
 * - predict latency for one row through the edge;
 * - the generation engine on ref-decoder (generation-engine-bench.ts);
 * - constrained decoding (constraints-bench.ts): the engine's 160 JSON requests constrained vs
 *   judge + refinement, the mask's per-step cost at batch 1 and 16 and by vocabulary size, and
 *   tool-grammar compile time;
 * - the routing decision, `selectRoute` over 1,000 versions × 64 GPUs (selection-bench.ts);
 * - conversion (conversion-bench.ts): fp16/int8/int4 of a 54 MB decoder: time, size, agreement, CPU speed;
 * - forwarding (routing-bench.ts): edge overhead at a steady 200 req/s, and load-aware vs
 *   round-robin routing on a skewed fleet of four workers (it starts three extra workers);
 * - the web console (console-bench.ts): bundle size, first load in headless Chromium cold and warm;
 * - metrics cost (metrics-cost-bench.ts): edge p50 and decode tokens/s with metrics on vs off, two
 *   stacks side by side, and the recording itself timed in this process.
 * - tensors (tensor-bench.ts): dynamic batching on vs off for 64 clients on a small Conv model, and
 *   binary vs JSON request cost for a 1x3x224x224 input through the edge.
 * - evaluation (eval-bench.ts): a 200-line evaluation job on ref-decoder and its int8 format vs the
 *   same requests sent one by one from a client.
 *
 * `npm run bench -- --only engine` (or a comma-separated list of SECTIONS) runs only those.
 * Sections that are pure computation in this process (`selection`) do not start the stack.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { buildDemoLm } from "@modelgate/gpu-worker/reference-models/index";
import { freeStackPorts, startLocalStack } from "@modelgate/infra/local-stack";
import { GenerateResponseSchema, signRequest } from "@modelgate/shared";
import { openDirectDecoder } from "../support/direct-onnx.js";
import { type BenchRow, fmt, percentile, timeIt } from "./bench-stats.js";
import { benchConsole } from "./console-bench.js";
import { benchConstraints } from "./constraints-bench.js";
import { benchConversion } from "./conversion-bench.js";
import { benchEvaluation } from "./eval-bench.js";
import { benchGenerationEngine } from "./generation-engine-bench.js";
import { benchMetricsCost } from "./metrics-cost-bench.js";
import { benchRegistrySearch, populateBenchRegistry } from "./registry-search-bench.js";
import { benchRouting } from "./routing-bench.js";
import { benchSelection } from "./selection-bench.js";
import { benchTensors } from "./tensor-bench.js";
import { createWorkerClient } from "./worker-client.js";

const SECTIONS = [
  "health",
  "decode",
  "edge",
  "keys",
  "search",
  "predict",
  "engine",
  "constraints",
  "selection",
  "routing",
  "conversion",
  "metrics",
  "console",
  "tensors",
  "eval",
] as const;
type Section = (typeof SECTIONS)[number];
/** Sections measured in this process alone: they need no local stack. */
const STACKLESS_SECTIONS: ReadonlySet<Section> = new Set<Section>(["selection", "conversion", "metrics"]);

/** The sections `--only a,b` names (all of them without it). */
function selectedSections(argv: readonly string[]): Set<Section> {
  const at = argv.indexOf("--only");
  if (at < 0) return new Set(SECTIONS);
  const named = (argv[at + 1] ?? "").split(",").filter((name) => name !== "");
  const unknown = named.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (named.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes a comma-separated list of: ${SECTIONS.join(", ")}`);
  }
  return new Set(named as Section[]);
}

async function main(): Promise<void> {
  const sections = selectedSections(process.argv.slice(2));
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  if (sections.has("selection")) rows.push(...benchSelection());
  if (sections.has("conversion")) {
    const conversion = await benchConversion();
    rows.push(...conversion.rows);
    notes.push(...conversion.notes);
  }
  // Starts two stacks of its own (metrics on and off), so it runs before the shared one.
  if (sections.has("metrics")) {
    const metrics = await benchMetricsCost();
    rows.push(...metrics.rows);
    notes.push(...metrics.notes);
  }
  if ([...sections].some((section) => !STACKLESS_SECTIONS.has(section))) {
    await benchOnLocalStack(sections, rows, notes);
  }
  console.log(
    `\nmodelgate benchmarks — ${new Date().toISOString()} — ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}\n`,
  );
  console.log("| measurement | modelgate | peer / target |");
  console.log("|---|---|---|");
  for (const [what, ours, peer] of rows) console.log(`| ${what} | ${ours} | ${peer} |`);
  for (const note of notes) console.log(`\n${note}`);
}

/** The sections that time the local stack: starts it, measures, stops it. */
async function benchOnLocalStack(sections: ReadonlySet<Section>, rows: BenchRow[], notes: string[]): Promise<void> {
  const dataDir = await mkdtemp(join(os.tmpdir(), "modelgate-bench-"));
  if (sections.has("search")) await populateBenchRegistry(dataDir);
  const stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
    // The evaluation section's jobs start within a fifth of a second rather than the default two.
    workerEnv: { MODELGATE_EVALUATION_POLL_MS: "200", MODELGATE_CONVERSION_POLL_MS: "200" },
  });
  try {
    const auth = { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" };
    const generate = async (body: object) => {
      const response = await fetch(`${stack.edgeUrl}/v1/generate`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`generate failed: ${response.status} ${await response.text()}`);
      return GenerateResponseSchema.parse(await response.json());
    };
    // The engine section reads the worker's idle memory, so it runs before anything else loads.
    if (sections.has("engine")) {
      const engine = await benchGenerationEngine(stack);
      rows.push(...engine.rows);
      notes.push(...engine.notes);
    }

    if (sections.has("constraints")) {
      const constraints = await benchConstraints(stack);
      rows.push(...constraints.rows);
      notes.push(...constraints.notes);
    }

    // Warm up: load demo-lm into the worker thread once, for the sections that time it.
    if (sections.has("health") || sections.has("decode") || sections.has("edge")) {
      await generate({ model: "demo-lm", prompt: "warm up", max_new_tokens: 4, temperature: 0 });
    }

    // 1. /health latency idle and under a 512-token generation.
    if (sections.has("health")) {
      const idle: number[] = [];
      for (let i = 0; i < 50; i++)
        idle.push((await timeIt(() => fetch(`${stack.workerUrl}/health`).then((r) => r.text())))[0]);
      const busy: number[] = [];
      let done = false;
      const long = generate({
        model: "demo-lm",
        prompt: "Serving models",
        max_new_tokens: 512,
        temperature: 0,
      }).finally(() => {
        done = true;
      });
      while (!done) {
        busy.push((await timeIt(() => fetch(`${stack.workerUrl}/health`).then((r) => r.text())))[0]);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const longAnswer = await long;
      rows.push([
        "worker /health, idle (50 calls)",
        `p50 ${fmt(percentile(idle, 50))} ms, p99 ${fmt(percentile(idle, 99))} ms`,
        "—",
      ]);
      rows.push([
        `worker /health during a 512-token generation (${busy.length} calls over ${fmt(longAnswer.inference_time_ms / 1000, 2)} s)`,
        `p50 ${fmt(percentile(busy, 50))} ms, p99 ${fmt(percentile(busy, 99))} ms, max ${fmt(Math.max(...busy))} ms`,
        "< 100 ms",
      ]);
    }

    // 2. Decode throughput: the stack vs onnxruntime-node directly on the same bytes.
    if (sections.has("decode")) {
      const tokens = 128;
      const prompt = "hello";
      const stackRuns: number[] = [];
      const workerReported: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [ms, answer] = await timeIt(() =>
          generate({ model: "demo-lm", prompt, max_new_tokens: tokens, temperature: 0 }),
        );
        stackRuns.push((tokens / ms) * 1000);
        workerReported.push(answer.tokens_per_second);
      }
      const onnx = buildDemoLm().onnx;
      const promptIds = [256, ...new TextEncoder().encode(prompt)];
      const decoder = await openDirectDecoder(onnx);
      await decoder.greedyDecode(promptIds, 4);
      const directRuns: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [ms] = await timeIt(() => decoder.greedyDecode(promptIds, tokens));
        directRuns.push((tokens / ms) * 1000);
      }
      await decoder.release();
      rows.push([
        `greedy decode, demo-lm, ${tokens} new tokens, end to end (median of 5)`,
        `through the edge ${fmt(percentile(stackRuns, 50), 0)} tok/s; inside the worker thread ${fmt(percentile(workerReported, 50), 0)} tok/s`,
        `direct onnxruntime-node ${fmt(percentile(directRuns, 50), 0)} tok/s`,
      ]);
    }

    // 3. Edge overhead: the same signed request straight to the worker vs through the edge.
    if (sections.has("edge")) {
      const { target } = await createWorkerClient(stack, "demo-lm");
      const small = { model: "demo-lm", prompt: "hi", max_new_tokens: 1, temperature: 0 };
      const viaEdge: number[] = [];
      const direct: number[] = [];
      for (let i = 0; i < 40; i++) {
        viaEdge.push((await timeIt(() => generate(small)))[0]);
        const body = JSON.stringify({ ...small, target });
        const signature = await signRequest(stack.signingSecret, {
          method: "POST",
          pathWithQuery: "/v1/generate",
          body,
          workerId: stack.workerId,
        });
        direct.push(
          (
            await timeIt(() =>
              fetch(`${stack.workerUrl}/v1/generate`, {
                method: "POST",
                headers: { "content-type": "application/json", ...signature },
                body,
              }).then((r) => r.text()),
            )
          )[0],
        );
      }
      rows.push([
        "1-token generate, 40 calls: through the edge vs signed straight to the worker",
        `edge p50 ${fmt(percentile(viaEdge, 50))} ms, p95 ${fmt(percentile(viaEdge, 95))} ms`,
        `direct p50 ${fmt(percentile(direct, 50))} ms, p95 ${fmt(percentile(direct, 95))} ms`,
      ]);
    }

    // 4. Cached stored-key verification vs the configured admin secret, same route, alternated.
    if (sections.has("keys")) {
      const createdKey = await fetch(`${stack.edgeUrl}/v1/keys`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ name: "bench", scopes: ["admin"] }),
      });
      const storedKey = ((await createdKey.json()) as { key: string }).key;
      const timedList = (key: string) =>
        timeIt(() =>
          fetch(`${stack.edgeUrl}/v1/workers`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.text()),
        );
      await timedList(storedKey);
      const withSecret: number[] = [];
      const withStored: number[] = [];
      for (let i = 0; i < 200; i++) {
        withSecret.push((await timedList(stack.adminKey))[0]);
        withStored.push((await timedList(storedKey))[0]);
      }
      rows.push([
        "GET /v1/workers, 200 calls each, alternated: stored API key (cached lookup) vs the configured admin secret",
        `stored key p50 ${fmt(percentile(withStored, 50), 2)} ms (+${fmt(percentile(withStored, 50) - percentile(withSecret, 50), 2)} ms)`,
        `admin secret p50 ${fmt(percentile(withSecret, 50), 2)} ms; target ≤ +1 ms`,
      ]);
    }

    // The web console: its bundle, and its first load in headless Chromium, cold and warm.
    if (sections.has("console")) {
      const consoleBench = await benchConsole(stack);
      rows.push(...consoleBench.rows);
      notes.push(...consoleBench.notes);
    }

    // 5. Registry search over 10,000 versions vs scanning every model document.
    if (sections.has("search")) rows.push(...(await benchRegistrySearch(stack.edgeUrl, stack.adminKey)));

    // 6. Predict latency through the edge.
    if (sections.has("predict")) {
      const predict: number[] = [];
      for (let i = 0; i < 40; i++) {
        predict.push(
          (
            await timeIt(() =>
              fetch(`${stack.edgeUrl}/v1/predict`, {
                method: "POST",
                headers: auth,
                body: JSON.stringify({ model: "spirals", data: [[0.5, 0.3]] }),
              }).then((r) => r.text()),
            )
          )[0],
        );
      }
      rows.push([
        "spirals predict, 1 row, through the edge (40 calls)",
        `p50 ${fmt(percentile(predict, 50))} ms, p95 ${fmt(percentile(predict, 95))} ms`,
        "—",
      ]);
    }

    // Tensor models: dynamic batching on vs off, binary vs JSON tensors.
    if (sections.has("tensors")) {
      const tensors = await benchTensors(stack);
      rows.push(...tensors.rows);
      notes.push(...tensors.notes);
    }
    if (sections.has("eval")) {
      const evaluation = await benchEvaluation(stack);
      rows.push(...evaluation.rows);
      notes.push(...evaluation.notes);
    }

    // 7. Forwarding: edge overhead at 200 req/s, load-aware vs round-robin on a skewed fleet.
    // Last, because it starts (and stops again) three extra workers.
    if (sections.has("routing")) {
      const routing = await benchRouting(stack);
      rows.push(...routing.rows);
      notes.push(...routing.notes);
    }
  } finally {
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
