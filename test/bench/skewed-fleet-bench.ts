/**
 * Load-aware vs round-robin on a skewed fleet: four local workers (the stack's and three extra),
 * two of them kept busy by background generations sent straight to them, so their queues are
 * deep and their heartbeats say so. The same measured workload (128-token ref-decoder
 * generations arriving at a fixed rate) then goes (a) through the edge, which routes on heartbeats, and (b)
 * round-robin: signed straight to the four workers in turn, the way a load balancer without load
 * information spreads requests. Blocks go A B B A so a drift in the background load hits both.
 *
 * Open loop (a fixed arrival rate) rather than a fixed concurrency: with a fixed concurrency the
 * faster mode also sends more requests per second, and through the edge under `wrangler dev`
 * (which saturates near 100 req/s on these 2 cores, less with two workers decoding) that
 * measures the simulator's queue instead of the routing. Round-robin skips the edge and its cost
 * under `wrangler dev` (~10 ms at p50 on idle cores, 70–110 ms with two workers decoding beside
 * it), which favours the peer.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { freePort, type GpuWorkerProcess, type LocalStack } from "@modelgate/infra/local-stack";
import type { ModelVersion } from "@modelgate/shared";
import { type BenchRow, fmt, mark, median, percentile, sleep } from "./bench-stats.js";
import { openLoop } from "./open-loop.js";
import { postSignedToWorker, resolveWorkerTarget, workerLoad } from "./signed-worker-call.js";

/** Background demo-lm generations kept running on each slowed worker. */
const BACKGROUND_STREAMS = 8;
/** Each background generation: a ~4k-byte prompt and 4,000 new tokens, so full recompute runs ~4–8k positions a step. */
const BACKGROUND_NEW_TOKENS = 4000;
/** Measured arrivals per second, and the length of each of the four A B B A blocks. */
const MEASURED_RATE = 10;
const BLOCK_MS = 6000;
/**
 * A paragraph-sized answer. ref-decoder is tiny (~0.15 ms a token), so a 16–32-token generation
 * is less work than the edge's own cost under `wrangler dev` on loaded cores (tens of ms), and no
 * routing policy would show through it; 128 tokens keeps the worker's share comparable.
 */
const MEASURED_NEW_TOKENS = 128;
const MEASURED_PROMPT = "A language model writes";
/**
 * The slowed workers run at this niceness. On a real fleet each worker is its own machine; here
 * all four share the bench machine's cores with the edge, and two workers decoding without pause
 * would take both cores from the edge and the idle workers (every hop of an edge request then
 * waits for a core). Lowering their priority keeps them busy with deep queues, as intended, while
 * their decode no longer slows the machines that are not theirs.
 */
const SLOWED_NICENESS = 19;

interface Worker {
  workerId: string;
  url: string;
  slowed: boolean;
}

interface Timed {
  ms: number;
  workerId: string;
  ok: boolean;
}

export async function benchSkewedFleet(stack: LocalStack): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const extras: GpuWorkerProcess[] = [];
  const background = new AbortController();
  const backgroundLoops: Promise<void>[] = [];
  try {
    for (const id of ["bench-fast-1", "bench-slow-2", "bench-slow-3"]) {
      extras.push(await stack.startExtraWorker(id, await freePort()));
    }
    const fleet: Worker[] = [
      { workerId: stack.workerId, url: stack.workerUrl, slowed: false },
      ...extras.map((extra) => ({ workerId: extra.workerId, url: extra.url, slowed: extra.workerId.includes("slow") })),
    ];
    const version = (name: string) => stack.seeded.find((model) => model.name === name)?.version ?? 1;
    const refDecoder = await resolveWorkerTarget(stack, "ref-decoder", version("ref-decoder"));
    const demoLm = await resolveWorkerTarget(stack, "demo-lm", version("demo-lm"));
    const measured = { model: "ref-decoder", prompt: MEASURED_PROMPT, max_new_tokens: MEASURED_NEW_TOKENS };
    const fixedLength = { ...measured, min_new_tokens: MEASURED_NEW_TOKENS, temperature: 0 };
    const generateOn = async (worker: Worker, target: ModelVersion, request: object, signal?: AbortSignal) => {
      const answer = await postSignedToWorker(
        stack.signingSecret,
        worker,
        "/v1/generate",
        JSON.stringify({ ...request, target }),
        signal,
      );
      const text = await answer.text();
      if (!answer.ok) throw new Error(`${worker.workerId} generate: ${answer.status} ${text}`);
    };
    // Every worker holds ref-decoder before the runs (no cold load in either mode).
    for (const worker of fleet) for (let i = 0; i < 3; i++) await generateOn(worker, refDecoder, fixedLength);

    // Background load: BACKGROUND_STREAMS loops per slowed worker, each restarting its generation when it ends.
    const prompt = "Serving a model is the quiet part of machine learning. ".repeat(72);
    const long = {
      model: "demo-lm",
      prompt,
      max_new_tokens: BACKGROUND_NEW_TOKENS,
      min_new_tokens: BACKGROUND_NEW_TOKENS,
    };
    for (const worker of fleet.filter((w) => w.slowed)) {
      for (let stream = 0; stream < BACKGROUND_STREAMS; stream++) {
        backgroundLoops.push(
          (async () => {
            while (!background.signal.aborted) {
              await generateOn(worker, demoLm, { ...long, temperature: 0.8, seed: stream }, background.signal).catch(
                () => sleep(100),
              );
            }
          })(),
        );
      }
    }
    const slowed = fleet.filter((w) => w.slowed);
    const reniced = slowed.map((w) => lowerPriority(w.workerId, SLOWED_NICENESS));
    await waitForBusyHeartbeats(stack, slowed, BACKGROUND_STREAMS);

    // Sample every worker's /health through the runs: the slowed ones must stay busy at one level.
    const loadSamples = new Map<string, { queue: number[]; inFlight: number[] }>(
      fleet.map((w) => [w.workerId, { queue: [], inFlight: [] }]),
    );
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const worker of fleet) {
          const load = await workerLoad(worker.url).catch(() => undefined);
          const samples = loadSamples.get(worker.workerId);
          if (load && samples) {
            samples.queue.push(load.queue_depth);
            samples.inFlight.push(load.in_flight);
          }
        }
        await sleep(250);
      }
    })();

    const auth = { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" };
    const edgeBody = JSON.stringify(fixedLength);
    let lastReason = "";
    const viaEdge = async (): Promise<Timed> => {
      const started = performance.now();
      const answer = await fetch(`${stack.edgeUrl}/v1/generate`, { method: "POST", headers: auth, body: edgeBody });
      await answer.arrayBuffer();
      if (answer.ok) lastReason = answer.headers.get("x-modelgate-route-reason") ?? "";
      const workerId = answer.headers.get("x-modelgate-worker") ?? "?";
      return { ms: performance.now() - started, workerId, ok: answer.ok };
    };
    let turn = 0;
    const roundRobin = async (): Promise<Timed> => {
      const worker = fleet[turn++ % fleet.length] as Worker;
      const started = performance.now();
      const ok = await generateOn(worker, refDecoder, fixedLength).then(
        () => true,
        () => false,
      );
      return { ms: performance.now() - started, workerId: worker.workerId, ok };
    };
    const failedToo = (send: () => Promise<Timed>) => () =>
      send().catch(() => ({ ms: Number.NaN, workerId: "?", ok: false }));
    // The edge's path for this model warm (registry read, isolate) before the first block.
    for (let i = 0; i < 5; i++) await viaEdge();
    const loadAware: Timed[] = [];
    const robin: Timed[] = [];
    const runsStarted = performance.now();
    for (const mode of ["load-aware", "round-robin", "round-robin", "load-aware"] as const) {
      const into = mode === "load-aware" ? loadAware : robin;
      const block = await openLoop(MEASURED_RATE, BLOCK_MS, failedToo(mode === "load-aware" ? viaEdge : roundRobin));
      into.push(...block.results);
    }
    const runsSeconds = (performance.now() - runsStarted) / 1000;
    sampling = false;
    await sampler;
    const failed = [...loadAware, ...robin].filter((t) => !t.ok).length;

    const p = (timed: Timed[], q: number) =>
      percentile(
        timed.filter((t) => t.ok).map((t) => t.ms),
        q,
      );
    const ratio = p(robin, 95) / p(loadAware, 95);
    const slowedIds = new Set(slowed.map((w) => w.workerId));
    const share = (timed: Timed[]) =>
      fleet.map((w) => `${w.workerId} ${timed.filter((t) => t.workerId === w.workerId).length}`).join(", ");
    const robinOn = (slow: boolean) => robin.filter((t) => slowedIds.has(t.workerId) === slow);
    const loadLine = fleet
      .map((w) => {
        const samples = loadSamples.get(w.workerId);
        const queue = samples?.queue ?? [];
        return `${w.workerId}${w.slowed ? " (slowed)" : ""}: queue_depth min ${Math.min(...queue)} / median ${median(queue)} / max ${Math.max(...queue)}, in_flight median ${median(samples?.inFlight ?? [])}`;
      })
      .join("; ");
    const perMode = (2 * MEASURED_RATE * BLOCK_MS) / 1000;
    const workload = `${perMode} ref-decoder generations of exactly ${MEASURED_NEW_TOKENS} tokens per mode, arriving at ${MEASURED_RATE}/s (open loop), blocks A B B A of ${BLOCK_MS / 1000} s`;
    return {
      rows: [
        [
          `skewed fleet, 4 workers, 2 slowed by ${BACKGROUND_STREAMS} background demo-lm generations each; ${workload}: load-aware (through the edge)`,
          `p50 ${fmt(p(loadAware, 50))} ms, **p95 ${fmt(p(loadAware, 95))} ms**`,
          `round-robin (signed straight to the 4 in turn): p50 ${fmt(p(robin, 50))} ms, p95 ${fmt(p(robin, 95))} ms`,
        ],
        ["load-aware vs round-robin, p95", `**${fmt(ratio, 1)}× better**`, `target ≥ 2× ${mark(ratio >= 2)}`],
      ],
      notes: [
        `Skewed fleet (${fmt(runsSeconds, 1)} s of measured runs, ${failed} failed request(s)). Requests per worker — load-aware: ${share(loadAware)}; round-robin: ${share(robin)}.`,
        `Round-robin on the fast workers p50 ${fmt(p(robinOn(false), 50))} / p95 ${fmt(p(robinOn(false), 95))} ms, on the slowed ones p50 ${fmt(p(robinOn(true), 50))} / p95 ${fmt(p(robinOn(true), 95))} ms.`,
        `Worker /health every ~250 ms during the runs: ${loadLine}.`,
        `A route reason from the edge: ${lastReason}`,
        `The slowed workers ran at nice ${SLOWED_NICENESS} (${reniced.join(" and ")} threads reniced).`,
      ],
    };
  } finally {
    background.abort();
    await Promise.all(backgroundLoops);
    for (const extra of extras) await extra.stop().catch(() => undefined);
  }
}

/**
 * Sets the niceness of every thread of the worker process started with `workerId` (Linux: found
 * through /proc by its MODELGATE_WORKER_ID); threads it starts later inherit it. Answers the
 * number of threads changed (0 where /proc is not there).
 */
function lowerPriority(workerId: string, niceness: number): number {
  let threads = 0;
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((entry) => /^[0-9]+$/.test(entry));
  } catch {
    return 0;
  }
  for (const pid of entries) {
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, "latin1").split("\0");
      if (!environ.includes(`MODELGATE_WORKER_ID=${workerId}`)) continue;
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        setPriority(Number(task), niceness);
        threads++;
      }
    } catch {
      // Another user's process, or one that has just exited.
    }
  }
  return threads;
}

/** Waits until the edge's fleet view shows each slowed worker with at least `depth` queued requests. */
async function waitForBusyHeartbeats(stack: LocalStack, slowed: Worker[], depth: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${stack.edgeUrl}/v1/workers`, {
      headers: { authorization: `Bearer ${stack.adminKey}` },
    });
    const { workers } = (await response.json()) as {
      workers: Array<{ heartbeat: { worker_id: string; queue_depth: number } }>;
    };
    const busy = slowed.every((w) =>
      workers.some((state) => state.heartbeat.worker_id === w.workerId && state.heartbeat.queue_depth >= depth),
    );
    if (busy) return;
    await sleep(250);
  }
  throw new Error(`the slowed workers did not report ${depth} queued requests within 30 s`);
}
