/**
 * Evaluation throughput (`npm run bench -- --only eval`): a 200-line dataset on ref-decoder and
 * its int8 format (converted first) as one evaluation job, against the same 400 generate
 * requests sent one by one from a client through the edge. The job keeps `concurrency` lines in
 * flight on the worker, so its continuous-batching scheduler decodes them together; the client
 * sending one request at a time leaves the batch with one row. Both decode greedily with the same
 * `max_new_tokens`, so the work per request is the same.
 */
import type { LocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import {
  ConversionJobSchema,
  EvaluationJobSchema,
  EvaluationReportSchema,
  GenerateResponseSchema,
  parseEvaluationDataset,
  TERMINAL_JOB_STATUSES,
} from "@modelgate/shared";
import { generatedEvaluationDataset } from "../support/evaluation-datasets.js";
import { type BenchRow, fmt, sleep } from "./bench-stats.js";

const LINES = 200;
const MAX_NEW_TOKENS = 16;

export async function benchEvaluation(stack: LocalStack): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const auth = { authorization: `Bearer ${stack.adminKey}`, "content-type": "application/json" };
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.edgeUrl}${path}`, {
      method,
      headers: auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as unknown;
  };
  const version = stack.seeded.find((model) => model.name === "ref-decoder")?.version ?? 1;
  let conversion = ConversionJobSchema.parse(
    await call("POST", `/v1/models/ref-decoder/versions/${version}/conversions`, { targets: ["int8"], shapes: [128] }),
  );
  while (!TERMINAL_JOB_STATUSES.has(conversion.status)) {
    await sleep(200);
    conversion = ConversionJobSchema.parse(await call("GET", `/v1/conversions/${conversion.id}`));
  }
  if (conversion.status !== "succeeded") throw new Error(`int8 conversion ${conversion.status}`);
  const targets = [`ref-decoder@${version}`, `ref-decoder@${version}:int8`];

  const text = generatedEvaluationDataset(LINES);
  const dataset = await uploadArtifact(
    stack.edgeUrl,
    stack.adminKey,
    "bench-eval.jsonl",
    new TextEncoder().encode(text),
  );
  // Warm both formats up, so neither side pays for loading a model.
  for (const model of targets) await call("POST", "/v1/generate", { model, prompt: "warm up", max_new_tokens: 4 });

  const submitted = performance.now();
  let job = EvaluationJobSchema.parse(
    await call("POST", "/v1/evaluations", { dataset, targets, max_new_tokens: MAX_NEW_TOKENS }),
  );
  while (!TERMINAL_JOB_STATUSES.has(job.status)) {
    await sleep(100);
    job = EvaluationJobSchema.parse(await call("GET", `/v1/evaluations/${job.id}`));
  }
  const clientSeconds = (performance.now() - submitted) / 1000;
  if (job.status !== "succeeded") throw new Error(`evaluation ${job.status}: ${JSON.stringify(job.errors)}`);
  const report = EvaluationReportSchema.parse(await call("GET", `/v1/evaluations/${job.id}/report`));

  // The peer: the same requests, one at a time, from a client.
  const parsed = parseEvaluationDataset(text);
  if (!parsed.ok) throw new Error("the generated dataset does not parse");
  const started = performance.now();
  let tokens = 0;
  for (const line of parsed.lines) {
    for (const model of targets) {
      const answer = GenerateResponseSchema.parse(
        await call("POST", "/v1/generate", {
          model,
          ...(line.prompt === undefined ? {} : { prompt: line.prompt }),
          ...(line.messages === undefined ? {} : { messages: line.messages }),
          max_new_tokens: MAX_NEW_TOKENS,
          temperature: 0,
        }),
      );
      tokens += answer.tokens_generated;
    }
  }
  const sequentialSeconds = (performance.now() - started) / 1000;
  const requests = LINES * targets.length;
  const sequentialRate = requests / sequentialSeconds;
  const rows: BenchRow[] = [
    [
      `evaluation throughput: ${LINES} lines × ${targets.length} targets (ref-decoder, :int8), ${MAX_NEW_TOKENS} new tokens, concurrency ${job.concurrency}`,
      `${fmt(report.run.requests_per_second)} requests/s on the worker (${fmt(report.run.wall_ms / 1000)} s); ${fmt(requests / clientSeconds)} requests/s submit → succeeded (${fmt(clientSeconds)} s)`,
      `one by one from a client through the edge: ${fmt(sequentialRate)} requests/s (${fmt(sequentialSeconds)} s, ${tokens} tokens) → ×${fmt(report.run.requests_per_second / sequentialRate, 2)}`,
    ],
  ];
  for (const target of report.targets) {
    rows.push([
      `evaluation report, ${target.target}`,
      `pass ${target.pass_rate === null ? "-" : fmt(target.pass_rate * 100)}%, p50 ${fmt(target.latency_ms_p50, 0)} ms, p95 ${fmt(target.latency_ms_p95, 0)} ms, ${fmt(target.tokens_per_second, 0)} tok/s per request`,
      `CES ${target.ces_tokens_total} tokens, halt rate ${target.halt_rate === null ? "-" : fmt(target.halt_rate * 100)}%`,
    ]);
  }
  return {
    rows,
    notes: [
      `Evaluation: latency in the report is each line's time in the worker (queueing behind the other ${job.concurrency - 1} lines in flight included), so its p50 is above a lone request's.`,
    ],
  };
}
