/**
 * Conversion jobs when things go wrong, on the `npm start` stack with two workers and a short
 * lease: the worker converting the 54 MB reference decoder is killed (SIGKILL) and the job is
 * handed to the other worker, which finishes it; a running job that is cancelled is dropped by
 * its worker and nothing from it reaches the registry. An evaluation whose worker is killed
 * mid-way is resumed by another worker after the parts already recorded: every line counted once.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildLargeReferenceDecoder } from "@modelgate/gpu-worker/reference-models/reference-decoder-large";
import { freePort, freeStackPorts, type LocalStack, startLocalStack } from "@modelgate/infra/local-stack";
import { uploadArtifact } from "@modelgate/infra/seed-demo-models";
import {
  type ConversionJob,
  ConversionJobSchema,
  type EvaluationJob,
  EvaluationJobSchema,
  EvaluationReportSchema,
  ModelHistorySchema,
  parseEvaluationResults,
  RegisteredVersionSchema,
  reportTargets,
  TERMINAL_JOB_STATUSES,
} from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedEvaluationDataset } from "../support/evaluation-datasets.js";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

// Short enough for a quick handover, long enough for renewals through wrangler dev on two busy cores.
const LEASE_MS = 4000;
let dataDir: string;
let stack: LocalStack;
let version: number;
const workers = new Map<string, { kill(): Promise<void> }>();

const call = (method: string, path: string, body?: unknown) => callEdge(stack, method, path, body);
const json = jsonWithStatus;

const getJob = async (id: string) =>
  ConversionJobSchema.parse(await json(await call("GET", `/v1/conversions/${id}`), 200));

async function waitForJob(
  id: string,
  done: (job: ConversionJob) => boolean,
  timeoutMs: number,
): Promise<ConversionJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const queue = async (body: Record<string, unknown>) =>
  ConversionJobSchema.parse(
    await json(await call("POST", `/v1/models/ref-decoder-large/versions/${version}/conversions`, body), 202),
  );

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-conversion-resilience-"));
  stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
    edgeVars: { MODELGATE_CONVERSION_LEASE_MS: String(LEASE_MS), MODELGATE_EVALUATION_LEASE_MS: String(LEASE_MS) },
    // Evaluation polling slower than conversions: three idle pollers add load to wrangler dev while
    // the conversion tests check 54 MB of files through it; only the last test waits on a claim.
    workerEnv: { MODELGATE_CONVERSION_POLL_MS: "100", MODELGATE_EVALUATION_POLL_MS: "1000" },
  });
  workers.set(stack.workerId, stack.worker);
  workers.set("local-cpu-1", await stack.startExtraWorker("local-cpu-1", await freePort()));
  const model = buildLargeReferenceDecoder();
  const artifact = await uploadArtifact(stack.edgeUrl, stack.adminKey, "ref-decoder-large.onnx", model.onnx);
  const registered = RegisteredVersionSchema.parse(
    await json(
      await call("POST", "/v1/models/ref-decoder-large/versions", {
        ...model.registration,
        tokenizer: { type: "byte-level", vocab_size: 512, bos_token_id: 1, eos_token_id: 2 },
        artifact: { ...artifact, format: "onnx" },
        apply_policy: false,
      }),
      201,
    ),
  );
  version = registered.version;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("conversion jobs under failure", () => {
  it("hands the job of a killed worker to the other worker, which finishes it", async () => {
    // One format at one shape: seconds of work on the 54 MB decoder, far longer than the step from
    // seeing the job running to the kill, and the other worker does it all again after the lease.
    // (All three formats at two shapes made this test 26 s, twice the work for the same handover.)
    const queued = await queue({ targets: ["int8"], shapes: [128], primary: 128 });
    const running = await waitForJob(
      queued.id,
      (job) => job.status === "running" && job.worker_id !== undefined,
      30_000,
    );
    const first = running.worker_id ?? "";
    const victim = workers.get(first);
    if (victim === undefined) throw new Error(`unknown worker ${first}`);
    await victim.kill();

    const finished = await waitForJob(queued.id, (job) => TERMINAL_JOB_STATUSES.has(job.status), 90_000);
    expect(finished.status, JSON.stringify(finished.errors)).toBe("succeeded");
    expect(finished.attempts).toBe(2);
    expect(finished.worker_id).not.toBe(first);
    expect(finished.errors.map((error) => error.message).join("\n")).toMatch(new RegExp(`lease expired.*${first}`));
    expect(finished.result?.formats.int8?.gates_ok).toBe(true);
  });

  it("drops a running job that is cancelled: it ends cancelled and nothing from it is recorded", async () => {
    const queued = await queue({ targets: ["fp16", "int8", "int4"], shapes: [128, 512], primary: 512 });
    const holding = await waitForJob(queued.id, (job) => job.status === "running" && job.progress > 0, 30_000);
    const cancelled = ConversionJobSchema.parse(
      await json(await call("POST", `/v1/conversions/${queued.id}/cancel`), 200),
    );
    expect(cancelled.status).toBe("cancelled");
    // The same worker (the only one left after the first test) takes the next job within about one
    // renewal (a third of the lease) plus a step: it dropped the cancelled work, which had seconds to go.
    const next = await queue({ targets: ["int8"], shapes: [128], primary: 128 });
    const started = await waitForJob(next.id, (job) => job.started_at !== undefined, 30_000);
    expect(started.worker_id).toBe(holding.worker_id);
    expect(Date.parse(started.started_at ?? "") - Date.parse(next.created_at)).toBeLessThan(LEASE_MS);
    const done = await waitForJob(next.id, (job) => TERMINAL_JOB_STATUSES.has(job.status), 90_000);
    expect((await getJob(queued.id)).status).toBe("cancelled");
    const history = ModelHistorySchema.parse(
      await json(await call("GET", "/v1/models/ref-decoder-large/history"), 200),
    );
    expect(history.events.filter((event) => event.job_id === queued.id)).toEqual([]);
    expect(done.status, JSON.stringify(done.errors)).toBe("succeeded");
  });

  it("resumes an evaluation whose worker was killed on another worker, after its recorded parts: nothing lost, nothing twice", async () => {
    // The first test killed one of the two workers: start another, so one can take over.
    workers.set("local-cpu-2", await stack.startExtraWorker("local-cpu-2", await freePort()));
    // Enough work that the kill lands part-way however busy the machine is: the worker's lines are
    // quick and the polls through wrangler dev slow (80 lines of 16 tokens had all been recorded
    // by the time the kill landed, with another test process on the cores).
    const lines = 200;
    const dataset = await uploadArtifact(
      stack.edgeUrl,
      stack.adminKey,
      "eval.jsonl",
      new TextEncoder().encode(generatedEvaluationDataset(lines)),
    );
    const decoder = stack.seeded.find((model) => model.name === "ref-decoder")?.version ?? 1;
    const target = `ref-decoder@${decoder}`;
    // One line in flight at a time, so the run lasts long enough to be killed part-way.
    const queued = EvaluationJobSchema.parse(
      await json(
        await call("POST", "/v1/evaluations", { dataset, targets: [target], max_new_tokens: 16, concurrency: 1 }),
        202,
      ),
    );
    const getEvaluation = async (id: string) =>
      EvaluationJobSchema.parse(await json(await call("GET", `/v1/evaluations/${id}`), 200));
    const waitFor = async (done: (job: EvaluationJob) => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = await getEvaluation(queued.id);
        if (done(job)) return job;
        if (Date.now() > deadline) throw new Error(`evaluation never got there: ${JSON.stringify(job)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const partWay = await waitFor((job) => job.status === "running" && job.chunks.length >= 1, 30_000);
    const first = partWay.worker_id ?? "";
    const victim = workers.get(first);
    if (victim === undefined) throw new Error(`unknown worker ${first}`);
    await victim.kill();
    // What the edge held when the worker died (a part may have landed just before the kill).
    const recorded = (await getEvaluation(queued.id)).chunks;
    expect(recorded.length).toBeLessThan(lines / queued.chunk_lines);

    const finished = await waitFor((job) => TERMINAL_JOB_STATUSES.has(job.status), 60_000);
    expect(finished.status, JSON.stringify(finished.errors)).toBe("succeeded");
    expect(finished).toMatchObject({ attempts: 2, completed: lines, total: lines });
    expect(finished.worker_id).not.toBe(first);
    expect(finished.errors.map((error) => error.message).join("\n")).toMatch(new RegExp(`lease expired.*${first}`));
    // The parts recorded before the kill were kept as they were, not run again.
    for (const part of recorded) expect(finished.chunks).toContainEqual(part);
    const parts = lines / queued.chunk_lines;
    expect(finished.chunks.map((part) => part.index)).toEqual(Array.from({ length: parts }, (_, index) => index));

    const rows = parseEvaluationResults(await (await call("GET", `/v1/evaluations/${queued.id}/results`)).text());
    expect(rows.map((row) => row.line)).toEqual(Array.from({ length: lines }, (_, index) => index + 1));
    const report = EvaluationReportSchema.parse(
      await json(await call("GET", `/v1/evaluations/${queued.id}/report`), 200),
    );
    expect(report.run.attempts).toBe(2);
    expect(report.targets).toEqual(reportTargets([target], rows));
    expect(report.targets[0]).toMatchObject({ lines, errors: 0 });
  });
});
