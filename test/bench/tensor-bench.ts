/**
 * Tensor serving (`npm run bench -- --only tensors`):
 *
 * - dynamic batching: 64 closed-loop clients on a small Conv model (tiny-convnet, one
 *   1x3x16x16 float32 image per request) with the version's batching on (its defaults) and off
 *   (`serving.max_batch_size: 0`), alternated: over HTTP, signed straight to the worker's
 *   `/v1/infer` (so the worker, not the edge, is measured), and in this process on the worker's
 *   own inference path (InferenceService → dynamic batcher → inference thread → onnxruntime),
 *   which leaves out the HTTP and HMAC work that shares the machine's cores with the clients;
 * - binary vs JSON: one 1x3x224x224 float32 image through the edge to the worker, as the binary
 *   tensor data extension and as JSON (the body prepared once, so the client's encoding is not
 *   counted): the round trip minus the model's own `session.run` (reported by the worker), and
 *   the part of it the tensor adds (minus the same request with a 1x3x4x4 image).
 */

import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ArtifactCache } from "@modelgate/gpu-worker/artifacts/artifact-cache";
import { InferenceThreadPool } from "@modelgate/gpu-worker/inference/inference-pool";
import { InferenceService } from "@modelgate/gpu-worker/inference/inference-service";
import { type BuiltReferenceModel, buildImageClassifier } from "@modelgate/gpu-worker/reference-models/index";
import type { LocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import {
  concatBytes,
  DEFAULT_RUNTIME_CONFIG,
  encodeTensorBytes,
  encodeTensorFrame,
  type ModelVersion,
  signRequest,
  TENSOR_FRAME_CONTENT_TYPE,
  WORKER_INFER_PATH,
  WorkerInferResultHeaderSchema,
} from "@modelgate/shared";
import * as ort from "onnxruntime-node";
import { type BenchRow, fmt, median, percentile } from "./bench-stats.js";
import { resolveWorkerTarget } from "./signed-worker-call.js";

const CLIENTS = 64;
const WINDOW_MS = 4000;
const SMALL_IMAGE = [1, 3, 16, 16];
const LARGE_IMAGE = [1, 3, 224, 224];

/** The two Conv models batching is measured on, with how the table names them. */
const BATCHING_MODELS = [
  { label: "tiny-convnet (2 Conv layers, 8 channels, 4 KB)", build: () => buildImageClassifier() },
  {
    // Eight 1024-wide fully connected layers after the same Conv layers (29 MB of weights): a run is
    // bound by reading the weights, as a GPU's small batches are by kernel launches.
    label: "convnet-wide-head (the same Conv layers + 8 × 1024 fully connected, 29 MB)",
    build: () => buildImageClassifier({ hiddenLayers: { width: 1024, count: 8 } }),
  },
] as const;

async function registerTensorModel(
  stack: LocalStack,
  built: BuiltReferenceModel,
): Promise<{ target: ModelVersion; onnx: Uint8Array }> {
  const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, `${built.name}.onnx`, built.onnx);
  const response = await fetch(`${stack.edgeUrl}/v1/models/${built.name}/versions`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" },
    body: JSON.stringify({ kind: "tensor", artifact: { ...artifact, format: "onnx" } }),
  });
  if (response.status !== 201) throw new Error(`register ${built.name}: ${response.status} ${await response.text()}`);
  const { version } = (await response.json()) as { version: number };
  return { target: await resolveWorkerTarget(stack, built.name, version), onnx: built.onnx };
}

function imageValues(shape: readonly number[], seed: number): Float32Array<ArrayBuffer> {
  const count = shape.reduce((a, b) => a * b, 1);
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  });
}

/** `CLIENTS` loops, each sending its next request when the last one answered, for `WINDOW_MS`. */
async function closedLoop(
  stack: LocalStack,
  target: ModelVersion,
): Promise<{ requests: number; seconds: number; latencies: number[]; batches: number[] }> {
  const values = imageValues(SMALL_IMAGE, 7);
  const bytes = encodeTensorBytes(values);
  const body = encodeTensorFrame(
    { target, inputs: [{ name: "image", datatype: "FP32", shape: SMALL_IMAGE, byte_size: bytes.byteLength }] },
    [bytes],
  );
  const latencies: number[] = [];
  const batches: number[] = [];
  const started = performance.now();
  const deadline = started + WINDOW_MS;
  const client = async () => {
    while (performance.now() < deadline) {
      const signature = await signRequest(stack.signingSecret, {
        method: "POST",
        pathWithQuery: WORKER_INFER_PATH,
        body,
        workerId: stack.workerId,
      });
      const sent = performance.now();
      const response = await fetch(`${stack.workerUrl}${WORKER_INFER_PATH}`, {
        method: "POST",
        headers: { "content-type": TENSOR_FRAME_CONTENT_TYPE, ...signature },
        body,
      });
      const answer = new Uint8Array(await response.arrayBuffer());
      if (response.status !== 200)
        throw new Error(`worker infer: ${response.status} ${new TextDecoder().decode(answer)}`);
      latencies.push(performance.now() - sent);
      const headerBytes = new DataView(answer.buffer, answer.byteOffset).getUint32(0, true);
      const header = WorkerInferResultHeaderSchema.parse(
        JSON.parse(new TextDecoder().decode(answer.subarray(4, 4 + headerBytes))),
      );
      batches.push(header.batch_size);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  return { requests: latencies.length, seconds: (performance.now() - started) / 1000, latencies, batches };
}

async function benchBatching(stack: LocalStack, label: string, target: ModelVersion): Promise<BenchRow[]> {
  const on = target;
  const off: ModelVersion = { ...target, serving: { max_batch_size: 0 } };
  // Warm: the model loaded, both paths taken once.
  await closedLoop(stack, off).catch(() => undefined);
  const runs: Record<"on" | "off", Array<Awaited<ReturnType<typeof closedLoop>>>> = { on: [], off: [] };
  for (let round = 0; round < 2; round++) {
    runs.off.push(await closedLoop(stack, off));
    runs.on.push(await closedLoop(stack, on));
  }
  const rate = (list: (typeof runs)["on"]) =>
    list.reduce((sum, run) => sum + run.requests, 0) / list.reduce((sum, run) => sum + run.seconds, 0);
  const latencies = (list: (typeof runs)["on"]) => list.flatMap((run) => run.latencies);
  const [onRate, offRate] = [rate(runs.on), rate(runs.off)];
  const batchSizes = runs.on.flatMap((run) => run.batches);
  return [
    [
      `dynamic batching over HTTP, ${label}, 1x3x16x16 float32 per request, ${CLIENTS} closed-loop clients signed straight to the worker, 2 × ${WINDOW_MS / 1000} s each, alternated`,
      `on: ${fmt(onRate, 0)} req/s, p50 ${fmt(percentile(latencies(runs.on), 50))} ms, p99 ${fmt(percentile(latencies(runs.on), 99))} ms, median batch ${median(batchSizes)} rows (max ${Math.max(...batchSizes)}); **${fmt(onRate / offRate, 2)}×**`,
      `off: ${fmt(offRate, 0)} req/s, p50 ${fmt(percentile(latencies(runs.off), 50))} ms, p99 ${fmt(percentile(latencies(runs.off), 99))} ms; goal ≥ 3× (Triton's published gain 3.3×)`,
    ],
  ];
}

/** onnxruntime-node called directly on the same model: what one run costs per row at batch 1 and at 64. */
async function onnxRuntimeCeiling(label: string, onnx: Uint8Array): Promise<BenchRow> {
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
  const perRow = async (rows: number) => {
    const shape = [rows, ...SMALL_IMAGE.slice(1)];
    const feeds = { image: new ort.Tensor("float32", imageValues(shape, 3), shape) };
    for (let i = 0; i < 20; i++) await session.run(feeds);
    const runs = 200;
    const started = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    return ((performance.now() - started) / runs / rows) * 1000;
  };
  try {
    const [one, sixtyFour] = [await perRow(1), await perRow(CLIENTS)];
    return [
      `the ceiling on this CPU, ${label}: onnxruntime-node called directly (no threads, no HTTP), one run per batch`,
      `batch 1: ${fmt(one)} µs per row; batch ${CLIENTS}: ${fmt(sixtyFour)} µs per row; at most **${fmt(one / sixtyFour, 2)}×**`,
      "—",
    ];
  } finally {
    await session.release();
  }
}

/** The worker's inference path in this process: `CLIENTS` concurrent callers of InferenceService.infer. */
async function benchBatchingInProcess(label: string, target: ModelVersion, onnx: Uint8Array): Promise<BenchRow[]> {
  const cacheDir = await mkdtemp(join(os.tmpdir(), "modelgate-tensor-bench-"));
  const pool = new InferenceThreadPool({ threads: 1 });
  await pool.start();
  const service = new InferenceService({
    workerId: "bench",
    pool,
    artifacts: new ArtifactCache({
      cacheDir,
      store: { getObject: async () => Readable.from([onnx]), putObject: async () => undefined },
    }),
    baseRuntimeConfig: DEFAULT_RUNTIME_CONFIG,
    sessionSettings: { intraOpThreads: 1, executionProviders: ["cpu"], maxBatchSize: 8 },
  });
  const count = SMALL_IMAGE.reduce((a, b) => a * b, 1);
  const loop = async (version: ModelVersion) => {
    let requests = 0;
    const started = performance.now();
    const deadline = started + WINDOW_MS / 2;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (performance.now() < deadline) {
          const inputs = [
            { name: "image", type: "float32" as const, dims: SMALL_IMAGE, data: new Float32Array(count).fill(0.5) },
          ];
          const result = await service.infer({ target: version, inputs });
          if (!result.ok) throw result.error;
          requests++;
        }
      }),
    );
    return { requests, seconds: (performance.now() - started) / 1000 };
  };
  try {
    const off: ModelVersion = { ...target, serving: { max_batch_size: 0 } };
    await loop(off);
    const totals = { on: { requests: 0, seconds: 0 }, off: { requests: 0, seconds: 0 } };
    for (let round = 0; round < 2; round++) {
      for (const [mode, version] of [
        ["off", off],
        ["on", target],
      ] as const) {
        const run = await loop(version);
        totals[mode].requests += run.requests;
        totals[mode].seconds += run.seconds;
      }
    }
    const onRate = totals.on.requests / totals.on.seconds;
    const offRate = totals.off.requests / totals.off.seconds;
    return [
      [
        `dynamic batching in one process, ${label}, on the worker's inference path (InferenceService → batcher → inference thread → onnxruntime, no HTTP), ${CLIENTS} concurrent callers, 2 × ${WINDOW_MS / 2000} s each`,
        `on: ${fmt(onRate, 0)} req/s; **${fmt(onRate / offRate, 2)}×**`,
        `off: ${fmt(offRate, 0)} req/s; goal ≥ 3×`,
      ],
    ];
  } finally {
    await pool.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

async function benchEncodings(stack: LocalStack, target: ModelVersion): Promise<BenchRow[]> {
  const path = `${stack.edgeUrl}/v2/models/${target.name}/versions/${target.version}/infer`;
  const auth = { authorization: `Bearer ${stack.adminKey}` };
  /** The two bodies for one image of `shape`: JSON, and the binary extension's header + bytes. */
  const bodies = (shape: readonly number[]) => {
    const values = imageValues(shape, 11);
    const json = JSON.stringify({
      inputs: [{ name: "image", shape, datatype: "FP32", data: Array.from(values) }],
      outputs: [{ name: "logits" }],
    });
    const bytes = encodeTensorBytes(values);
    const header = new TextEncoder().encode(
      JSON.stringify({
        inputs: [{ name: "image", shape, datatype: "FP32", parameters: { binary_data_size: bytes.byteLength } }],
        outputs: [{ name: "logits" }],
      }),
    );
    return { json, binary: concatBytes([header, bytes]), headerLength: header.byteLength };
  };
  const send = async (body: ReturnType<typeof bodies>, binary: boolean) => {
    const started = performance.now();
    const response = await fetch(path, {
      method: "POST",
      headers: binary
        ? {
            ...auth,
            "content-type": "application/octet-stream",
            "inference-header-content-length": String(body.headerLength),
          }
        : { ...auth, "content-type": "application/json" },
      body: binary ? body.binary : body.json,
    });
    const answer = (await response.json()) as { parameters?: { inference_time_ms?: number } };
    if (response.status !== 200) throw new Error(`infer: ${response.status} ${JSON.stringify(answer)}`);
    return performance.now() - started - (answer.parameters?.inference_time_ms ?? 0);
  };
  const large = bodies(LARGE_IMAGE);
  const tiny = bodies([1, 3, 4, 4]);
  const costs = { binary: [] as number[], json: [] as number[], tinyBinary: [] as number[], tinyJson: [] as number[] };
  for (let i = 0; i < 23; i++) {
    const measured = [
      await send(large, true),
      await send(large, false),
      await send(tiny, true),
      await send(tiny, false),
    ];
    // The first rounds warm the isolate, the worker's session and the connections.
    if (i < 3) continue;
    costs.binary.push(measured[0] ?? 0);
    costs.json.push(measured[1] ?? 0);
    costs.tinyBinary.push(measured[2] ?? 0);
    costs.tinyJson.push(measured[3] ?? 0);
  }
  const [binary, json] = [median(costs.binary), median(costs.json)];
  const [binaryTensor, jsonTensor] = [binary - median(costs.tinyBinary), json - median(costs.tinyJson)];
  const mib = (bytes: number) => fmt(bytes / 1024 / 1024, 2);
  return [
    [
      `V2 infer through the edge (wrangler dev) to the worker, one 1x3x224x224 float32 image, 20 calls each, alternated: edge + worker time (round trip − session.run), binary (${mib(large.binary.byteLength)} MiB body) vs JSON (${mib(large.json.length)} MiB)`,
      `whole request: binary ${fmt(binary)} ms vs JSON ${fmt(json)} ms (**${fmt(json / binary, 1)}× less**); the tensor's part (minus a 1x3x4x4 request's ${fmt(median(costs.tinyBinary))} / ${fmt(median(costs.tinyJson))} ms): binary ${fmt(binaryTensor)} ms vs JSON ${fmt(jsonTensor)} ms (**${fmt(jsonTensor / binaryTensor, 1)}× less**)`,
      "goal ≥ 5× less edge + worker time",
    ],
  ];
}

export async function benchTensors(stack: LocalStack): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const rows: BenchRow[] = [];
  let convnet: ModelVersion | undefined;
  for (const model of BATCHING_MODELS) {
    const { target, onnx } = await registerTensorModel(stack, model.build());
    convnet ??= target;
    rows.push(
      ...(await benchBatching(stack, model.label, target)),
      ...(await benchBatchingInProcess(model.label, target, onnx)),
      await onnxRuntimeCeiling(model.label, onnx),
    );
  }
  if (!convnet) throw new Error("no batching model was registered");
  rows.push(...(await benchEncodings(stack, convnet)));
  return { rows, notes: [] };
}
