/**
 * Issue 6's "done when", against the `npm start` stack: the edge queues conversion jobs, the
 * GPU worker claims them with a lease, converts the reference LM to fp16/int8/int4, verifies each
 * against fp32, stores every file content-addressed in S3, and the registry records the formats
 * and gates. `@…:int8` is served through the edge; a failed gate blocks a promotion unless
 * forced with a reason; bad models fail their job and register nothing as converted.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReferenceDecoder } from "@modelgate/gpu-worker/reference-models/index";
import { freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import {
  type ConversionJob,
  ConversionJobSchema,
  EvaluationJobSchema,
  EvaluationReportSchema,
  GenerateResponseSchema,
  ModelHistorySchema,
  ModelVersionSchema,
  ModelViewSchema,
  ProblemDetailsSchema,
  parseEvaluationResults,
  reportTargets,
  TERMINAL_JOB_STATUSES,
  VersionVerificationViewSchema,
  WorkerListEntrySchema,
} from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedEvaluationDataset } from "../support/evaluation-datasets.js";
import { runCliInProcess } from "../support/run-cli-in-process.js";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

let dataDir: string;
let stack: LocalStack;
const decoder = buildReferenceDecoder();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-conversion-"));
  stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
    workerEnv: { MODELGATE_CONVERSION_POLL_MS: "200", MODELGATE_EVALUATION_POLL_MS: "200" },
  });
});

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const call = (method: string, path: string, body?: unknown) => callEdge(stack, method, path, body);
const json = jsonWithStatus;

/** Queues a job and follows it to the end, keeping every state it was seen in. */
async function convert(name: string, version: number, body: Record<string, unknown>) {
  const queued = ConversionJobSchema.parse(
    await json(await call("POST", `/v1/models/${name}/versions/${version}/conversions`, body), 202),
  );
  const seen: ConversionJob[] = [queued];
  let job = queued;
  const deadline = Date.now() + 120_000;
  while (!TERMINAL_JOB_STATUSES.has(job.status)) {
    if (Date.now() > deadline) throw new Error(`job ${job.id} did not finish: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    job = ConversionJobSchema.parse(await json(await call("GET", `/v1/conversions/${job.id}`), 200));
    seen.push(job);
  }
  return { job, seen };
}

/** The artifacts the fleet's workers hold, from their heartbeats. */
async function loadedShas(): Promise<string[]> {
  const { workers } = (await json(await call("GET", "/v1/workers"), 200)) as { workers: unknown[] };
  return workers.flatMap((entry) =>
    WorkerListEntrySchema.parse(entry).heartbeat.loaded_models.map((model) => model.sha256),
  );
}

const decoderVersion = () => stack.seeded.find((model) => model.name === "ref-decoder")?.version ?? 1;

describe("conversion through the local stack", () => {
  it("converts the reference LM to fp16, int8 and int4, records formats and gates, and serves each as @…:<format>", async () => {
    const version = decoderVersion();
    const { job, seen } = await convert("ref-decoder", version, {
      targets: ["fp16", "int8", "int4"],
      shapes: [128, 512, 1024],
      primary: 1024,
    });
    expect(job.status, JSON.stringify(job.errors)).toBe("succeeded");
    expect(job).toMatchObject({ step: "done", progress: 1, attempts: 1, worker_id: stack.workerId });
    // Progress was visible while it ran, and only went forward.
    expect(seen.some((state) => state.status === "running" && state.progress > 0 && state.progress < 1)).toBe(true);
    const fractions = seen.map((state) => state.progress);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));

    const view = VersionVerificationViewSchema.parse(
      await json(await call("GET", `/v1/models/ref-decoder/versions/${version}/verification`), 200),
    );
    expect(view.source?.summary.gates_ok).toBe(true);
    // latent_mode comes from the model's tokenizer.json (<bot>/<eot>), which the worker fetches with the model.
    expect(view.source?.contract?.model_arch).toMatchObject({
      use_halt_head: true,
      use_kv_cache: true,
      latent_mode: true,
    });
    expect(view.source?.summary.should_pass_ok).toBe(true);
    expect(view.source?.contract?.shape_validation.T1024?.status).toBe("ok");
    for (const target of ["fp16", "int8", "int4"] as const) {
      const format = view.formats[target];
      expect(format?.report?.target).toBe(target);
      expect(format?.summary.artifact.format).toBe(`onnx-${target}`);
      expect(format?.summary.artifact.uri).toMatch(/\/artifacts\/sha256\/[0-9a-f]{64}$/);
      expect(format?.report?.converted_sha256).toBe(format?.summary.artifact.sha256);
      expect(format?.summary.metrics.size_ratio).toBeLessThan(0.7);
    }
    expect(view.formats.int8?.summary.gates_ok).toBe(true);

    // Every format runs through the generation engine (KV cache in and out stays float32).
    for (const format of ["int8", "fp16", "int4"] as const) {
      const served = await call("POST", "/v1/generate", {
        model: `ref-decoder@${version}:${format}`,
        prompt: "A request arrives at the edge",
        max_new_tokens: 12,
        temperature: 0,
      });
      const answer = GenerateResponseSchema.parse(await json(served, 200));
      expect(served.headers.get("x-modelgate-model")).toBe(`ref-decoder@${version}:${format}`);
      expect(answer.token_ids.length).toBeGreaterThan(0);
      expect(answer.halt_probability).toBeGreaterThanOrEqual(0);
      // The worker really loaded the converted file: its heartbeat lists that artifact's sha256.
      const sha256 = view.formats[format]?.summary.artifact.sha256;
      await expect.poll(async () => loadedShas(), { timeout: 10_000, interval: 250 }).toContain(sha256);
    }

    const history = ModelHistorySchema.parse(await json(await call("GET", "/v1/models/ref-decoder/history"), 200));
    const recorded = history.events.filter(
      (event) => event.action === "conversion_recorded" && event.job_id === job.id,
    );
    expect(recorded.map((event) => event.format).sort()).toEqual(["fp16", "int4", "int8"]);
  });

  it("blocks promoting a format whose must-pass gate failed, unless forced with a reason that the history keeps", async () => {
    const version = decoderVersion();
    // int4 moves the halt probability by a few thousandths; a deployment that tolerates only
    // 0.0001 (the halt head decides when refinement stops) sees its must-pass gate fail for real.
    const { job } = await convert("ref-decoder", version, {
      targets: ["int4"],
      shapes: [128],
      primary: 128,
      thresholds: { int4: { max_halt_probability_diff: 0.0001 } },
    });
    expect(job.status).toBe("succeeded");
    expect(job.result?.formats.int4).toMatchObject({ gates_ok: false, must_pass_failed: ["halt_probability_diff"] });

    const refused = await call("POST", `/v1/models/ref-decoder/versions/${version}/stage`, {
      stage: "Production",
      format: "int4",
    });
    const problem = ProblemDetailsSchema.parse(await json(refused, 422));
    expect(problem.code).toBe("gate_failed");
    expect(problem.detail).toContain("halt_probability_diff");
    // The failed format is not served either.
    const notServed = await call("POST", "/v1/generate", {
      model: `ref-decoder@${version}:int4`,
      prompt: "x",
      max_new_tokens: 2,
    });
    expect(ProblemDetailsSchema.parse(await json(notServed, 422)).code).toBe("gate_failed");

    const noReason = await call("POST", `/v1/models/ref-decoder/versions/${version}/stage`, {
      stage: "Production",
      format: "int4",
      force: true,
    });
    expect(ProblemDetailsSchema.parse(await json(noReason, 400)).errors?.map((e) => e.field)).toEqual(["reason"]);
    await json(
      await call("POST", `/v1/models/ref-decoder/versions/${version}/stage`, {
        stage: "Production",
        format: "int4",
        force: true,
        reason: "accepting int4 for a memory-bound box; agreement checked by hand",
      }),
      200,
    );
    const history = ModelHistorySchema.parse(await json(await call("GET", "/v1/models/ref-decoder/history"), 200));
    expect(history.events.at(-1)).toMatchObject({
      action: "stage_changed",
      forced: true,
      reason: "accepting int4 for a memory-bound box; agreement checked by hand",
    });
    expect(history.events.at(-1)?.gates_failed?.join(",")).toContain("halt_probability_diff");
  });

  it("fails the job of a truncated model with its reason, registers nothing as converted and refuses its promotion", async () => {
    const truncated = decoder.onnx.subarray(0, Math.floor(decoder.onnx.byteLength / 2));
    const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, "broken.onnx", truncated);
    const registered = ModelVersionSchema.omit({ stage: true })
      .loose()
      .parse(
        await json(
          await call("POST", "/v1/models/broken-lm/versions", {
            ...decoder.registration,
            tokenizer: { type: "byte-level", vocab_size: 512, bos_token_id: 1, eos_token_id: 2 },
            artifact: { ...artifact, format: "onnx" },
            apply_policy: false,
          }),
          201,
        ),
      );
    const { job } = await convert("broken-lm", registered.version, { targets: ["int8"], shapes: [128], primary: 128 });
    expect(job.status).toBe("failed");
    expect(job.errors.at(-1)?.message).toMatch(/not a valid ONNX model|model_loads/);
    const version = ModelVersionSchema.loose().parse(
      await json(await call("GET", `/v1/models/broken-lm/versions/${registered.version}`), 200),
    );
    expect(version.converted_formats).toBeUndefined();
    expect(version.verification?.gates_ok).toBe(false);
    const refused = await call("POST", `/v1/models/broken-lm/versions/${registered.version}/stage`, {
      stage: "Production",
    });
    expect(ProblemDetailsSchema.parse(await json(refused, 422)).code).toBe("gate_failed");
  });

  it("refuses to register a model missing an output its version declares, and fails the job of a primary shape the model cannot take", async () => {
    // Declared as if it had the halt head, but the graph has no halt_logits: the edge reads the
    // file's io at registration and refuses the contradiction before any job could run on it (the
    // pipeline's own contract gate for such a version is covered in conversion-contract.test.ts).
    const headless = buildReferenceDecoder({ haltHead: false });
    const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, "headless.onnx", headless.onnx);
    const refused = ProblemDetailsSchema.parse(
      await json(
        await call("POST", "/v1/models/headless-lm/versions", {
          ...decoder.registration,
          tokenizer: { type: "byte-level", vocab_size: 512, bos_token_id: 1, eos_token_id: 2 },
          artifact: { ...artifact, format: "onnx" },
          apply_policy: false,
        }),
        422,
      ),
    );
    const haltOutput = decoder.registration.io.outputs.findIndex((output) => output.name === "halt_logits");
    expect(refused.errors?.map((e) => e.field)).toEqual([`io.outputs.${haltOutput}.name`]);
    expect(refused.detail).toContain("halt_logits");

    // ref-decoder's context is 1024 tokens: T2048 as the primary shape cannot pass.
    const tooLong = await convert("ref-decoder", decoderVersion(), {
      targets: ["int8"],
      shapes: [128, 2048],
      primary: 2048,
    });
    expect(tooLong.job.status).toBe("failed");
    expect(tooLong.job.errors.at(-1)?.message).toContain("T2048");
    for (const failed of [tooLong.job]) {
      const history = ModelHistorySchema.parse(
        await json(await call("GET", `/v1/models/${failed.model}/history`), 200),
      );
      expect(
        history.events.filter((event) => event.action === "conversion_recorded" && event.job_id === failed.id),
      ).toEqual([]);
    }
  });

  it("counts the jobs above by outcome and times each pipeline step in the worker's and the edge's metrics", async () => {
    const sampleValue = (text: string, name: string, labels: Record<string, string>) =>
      text
        .split("\n")
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    const worker = await (await fetch(`${stack.workerUrl}/metrics`)).text();
    // One job succeeded and two failed above (truncated model, primary shape).
    expect(sampleValue(worker, "modelgate_conversion_jobs_total", { outcome: "succeeded" })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(worker, "modelgate_conversion_jobs_total", { outcome: "failed" })).toBeGreaterThanOrEqual(2);
    for (const step of ["download", "contract", "shapes", "convert", "verify", "upload", "register"]) {
      expect(
        sampleValue(worker, "modelgate_conversion_step_duration_seconds_count", { step }),
        `step ${step}`,
      ).toBeGreaterThanOrEqual(1);
    }
    const edge = await (await call("GET", "/metrics")).text();
    expect(sampleValue(edge, "modelgate_edge_conversion_jobs", { status: "succeeded" })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(edge, "modelgate_edge_conversion_jobs", { status: "failed" })).toBeGreaterThanOrEqual(2);
    expect(
      sampleValue(edge, "modelgate_edge_registry_writes_total", { operation: "record_conversion", outcome: "ok" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("refuses an unknown target and a primary shape not among the shapes, naming the field", async () => {
    const version = decoderVersion();
    const path = `/v1/models/ref-decoder/versions/${version}/conversions`;
    const unknown = ProblemDetailsSchema.parse(await json(await call("POST", path, { targets: ["int3"] }), 400));
    expect(unknown.errors?.map((e) => e.field)).toEqual(["targets.0"]);
    const primary = ProblemDetailsSchema.parse(
      await json(await call("POST", path, { targets: ["int8"], shapes: [128], primary: 512 }), 400),
    );
    expect(primary.errors?.map((e) => e.field)).toEqual(["primary"]);
  });

  it("runs from the CLI: models convert with live progress, then models verify printing every gate", async () => {
    const cli = (...argv: string[]) => runCliInProcess(stack.edgeUrl, dataDir, ["--key", stack.adminKey, ...argv]);
    const version = String(decoderVersion());
    const converted = await cli(
      "models",
      "convert",
      "ref-decoder",
      "--version",
      version,
      "--to",
      "int8",
      "--shapes",
      "128",
      "--poll-ms",
      "100",
    );
    expect(converted.code, converted.stderr).toBe(0);
    expect(converted.stderr).toMatch(/queued cj_/);
    // One line per change seen while polling; the job may finish between two polls.
    expect(converted.stderr).toMatch(/\[100%\] succeeded/);
    expect(converted.stdout).toMatch(/status\s+succeeded/);
    const verified = await cli("models", "verify", "ref-decoder", "--version", version);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/must_pass\s+top1_agreement\s+pass/);
    expect(verified.stdout).toMatch(/int8.*gates ok/);
    const asJson = await cli("models", "verify", "ref-decoder", "--version", version, "--json");
    expect(VersionVerificationViewSchema.parse(JSON.parse(asJson.stdout)).formats.int8?.summary.gates_ok).toBe(true);
  });

  // Issue 16's evaluation jobs, here because this stack has just made ref-decoder's int8 format.
  it("evaluates ref-decoder and its int8 format from the CLI (eval run, show, compare); the report is what its results give", async () => {
    const cli = (...argv: string[]) => runCliInProcess(stack.edgeUrl, dataDir, ["--key", stack.adminKey, ...argv]);
    const version = decoderVersion();
    const lines = 40;
    await writeFile(join(dataDir, "eval.jsonl"), generatedEvaluationDataset(lines));
    const targets = [`ref-decoder@${version}`, `ref-decoder@${version}:int8`];
    const run = await cli(
      "eval",
      "run",
      "eval.jsonl",
      ...targets.flatMap((target) => ["--target", target]),
      "--max-new-tokens",
      "6",
      "--poll-ms",
      "100",
      "--json",
    );
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { job: unknown; report: unknown };
    const job = EvaluationJobSchema.parse(answer.job);
    const report = EvaluationReportSchema.parse(answer.report);
    expect(job).toMatchObject({ status: "succeeded", lines, total: 2 * lines, completed: 2 * lines, attempts: 1 });
    expect(job.targets.map((target) => target.label)).toEqual(targets);

    // The results file has one row per line and target, and gives exactly the report's figures.
    const response = await call("GET", `/v1/evaluations/${job.id}/results`);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const rows = parseEvaluationResults(await response.text());
    expect(rows).toHaveLength(2 * lines);
    expect(new Set(rows.map((row) => `${row.line}/${row.target}`)).size).toBe(2 * lines);
    expect(reportTargets(targets, rows)).toEqual(report.targets);
    for (const figures of report.targets) {
      expect(figures).toMatchObject({ lines, errors: 0, checked: 30 });
      expect(figures.exact_match_rate).not.toBeNull();
      expect(figures.regex_match_rate).not.toBeNull();
      expect(figures.schema_valid_rate).not.toBeNull();
      expect(figures.ces_tokens_total).toBeGreaterThan(0);
      expect(figures.latency_ms_p95).toBeGreaterThanOrEqual(figures.latency_ms_p50);
    }
    // The version links the evaluation once per target, with where its report is.
    const record = ModelViewSchema.parse(await json(await call("GET", "/v1/models/ref-decoder"), 200));
    const links = record.versions.find((v) => v.version === version)?.evaluations ?? [];
    expect(links.filter((link) => link.job_id === job.id).map((link) => [link.target, link.format])).toEqual([
      [targets[0], undefined],
      [targets[1], "int8"],
    ]);
    expect(links.at(-1)?.report_uri).toBe(job.result?.report.uri);

    const shown = await cli("eval", "show", job.id);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/status\s+succeeded/);
    expect(shown.stdout).toMatch(new RegExp(`ref-decoder@${version}:int8\\s+${lines}\\s`));
    const compared = await cli("eval", "compare", job.id);
    expect(compared.code, compared.stderr).toBe(0);
    expect(compared.stdout).toMatch(/METRIC\s+A\s+B\s+B − A\s+95% CI/);
    expect(compared.stdout).toMatch(/pass_rate .*(not significant|significant)\s+30/);
    const comparedJson = JSON.parse((await cli("eval", "compare", job.id, "--json")).stdout) as {
      a: string;
      b: string;
      metrics: Array<{ metric: string; paired: number }>;
    };
    expect(comparedJson).toMatchObject({ a: targets[0], b: targets[1] });
    expect(comparedJson.metrics.find((metric) => metric.metric === "latency_ms")?.paired).toBe(lines);
  });
});
