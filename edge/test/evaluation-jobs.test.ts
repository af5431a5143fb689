import {
  type ClaimedEvaluation,
  type EvaluationChunk,
  type EvaluationJob,
  type EvaluationResult,
  type ModelFile,
  type ModelView,
  reportTargets,
} from "@modelgate/shared";
import { afterEach, describe, expect, it } from "vitest";
import { registerModel } from "./support/conversion-reports.js";
import {
  ADMIN,
  call,
  causalLmRegistration,
  expectProblem,
  putTestArtifact,
  registerAndPromote,
  resetEdge,
  tensorRegistration,
  WORKER_TOKEN,
} from "./support/requests.js";

afterEach(() => resetEdge());

/** The tests' lease (edge/vitest.config.ts sets MODELGATE_EVALUATION_LEASE_MS to 1000). */
const LEASE_MS = 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function storedFile(content: string): Promise<ModelFile> {
  const { format: _format, ...file } = await putTestArtifact(content);
  return file;
}

const datasetOf = (lines: number) =>
  storedFile(
    Array.from({ length: lines }, (_, index) =>
      JSON.stringify(
        index % 2 === 0 ? { prompt: `line ${index + 1}`, expected: "yes" } : { prompt: `line ${index + 1}` },
      ),
    ).join("\n"),
  );

async function submit(body: Record<string, unknown>, key: string = ADMIN): Promise<Response> {
  return call("POST", "/v1/evaluations", { key, body });
}

async function queued(lines = 12, targets = ["demo-lm@1"]): Promise<EvaluationJob> {
  const response = await submit({ dataset: await datasetOf(lines), targets });
  if (response.status !== 202) throw new Error(`submit failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as EvaluationJob;
}

const workerCall = (path: string, body: unknown) => call("POST", path, { key: WORKER_TOKEN, body });

async function claim(workerId: string): Promise<ClaimedEvaluation | undefined> {
  const response = await workerCall("/internal/evaluations/claim", { worker_id: workerId });
  if (response.status === 204) return undefined;
  if (response.status !== 200) throw new Error(`claim failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as ClaimedEvaluation;
}

async function getEvaluation(id: string): Promise<EvaluationJob> {
  return (await (await call("GET", `/v1/evaluations/${id}`, { key: ADMIN })).json()) as EvaluationJob;
}

/** Rows a worker would write for `lines` lines on `target`: even lines pass their exact match. */
function rowsFor(target: string, lines: number): EvaluationResult[] {
  return Array.from({ length: lines }, (_, index) => ({
    line: index + 1,
    target,
    text: index % 2 === 0 ? "yes" : "no",
    finish_reason: "eos",
    stop_reason: "no_judge",
    refinement_loops: 1,
    judge_score: null,
    judge_passed: null,
    halt_probability: 0.25,
    latent_spans_used: 0,
    ces_tokens_total: 10 + index,
    tokens_generated: 4,
    latency_ms: 20 + index,
    ...(index % 2 === 0 ? { exact_match: true } : {}),
    passed: index % 2 === 0 ? true : null,
  }));
}

const part = (index: number, results: number): EvaluationChunk => ({
  index,
  uri: `s3://modelgate-test/evaluations/x/parts/${index}.jsonl`,
  sha256: "b".repeat(64),
  bytes: 100,
  results,
});

/** Reports both parts of a 12-line, one-target job, and stores results and a report that match them. */
async function finishedFiles(job: EvaluationJob, workerId: string, rows = rowsFor("demo-lm@1", 12)) {
  for (const chunk of [part(0, 10), part(1, 2)]) {
    expect((await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: workerId, chunk })).status).toBe(
      200,
    );
  }
  const results = await storedFile(rows.map((row) => JSON.stringify(row)).join("\n"));
  const at = new Date().toISOString();
  const report = {
    job_id: job.id,
    dataset_sha256: job.dataset.sha256,
    lines: job.lines,
    targets: reportTargets(["demo-lm@1"], rows),
    run: { started_at: at, finished_at: at, wall_ms: 1000, requests_per_second: 12, attempts: 1 },
  };
  return { results, report: await storedFile(JSON.stringify(report)), figures: report.targets };
}

async function keyWith(scope: string): Promise<string> {
  const created = await call("POST", "/v1/keys", { key: ADMIN, body: { name: `only-${scope}`, scopes: [scope] } });
  return ((await created.json()) as { key: string }).key;
}

describe("evaluation jobs", () => {
  it("runs a job to success: parts counted once, files checked, the report served and linked from the version", async () => {
    await registerModel("demo-lm");
    const response = await submit({ dataset: await datasetOf(12), targets: ["demo-lm@1"], max_new_tokens: 8 });
    expect(response.status).toBe(202);
    const job = (await response.json()) as EvaluationJob;
    expect(response.headers.get("location")).toBe(`/v1/evaluations/${job.id}`);
    expect(job).toMatchObject({
      status: "queued",
      lines: 12,
      total: 12,
      completed: 0,
      chunk_lines: 10,
      concurrency: 16,
      temperature: 0,
    });
    expect(job.targets).toEqual([{ reference: "demo-lm@1", model: "demo-lm", version: 1, label: "demo-lm@1" }]);
    // The served version documents stay inside the queue.
    expect(Object.keys(job)).not.toContain("served_targets");

    const claimed = await claim("worker-a");
    expect(claimed?.job).toMatchObject({ id: job.id, status: "running", worker_id: "worker-a", attempts: 1 });
    expect(claimed?.served_targets.map((v) => `${v.name}@${v.version}`)).toEqual(["demo-lm@1"]);
    const first = { worker_id: "worker-a", chunk: part(0, 10) };
    await workerCall(`/internal/evaluations/${job.id}/progress`, first);
    // A part reported again (a lost answer, a successor) is not counted twice.
    const again = (await (await workerCall(`/internal/evaluations/${job.id}/progress`, first)).json()) as EvaluationJob;
    expect(again).toMatchObject({ completed: 10, progress: 10 / 12 });
    expect(again.chunks).toHaveLength(1);

    const files = await finishedFiles(job, "worker-a");
    const completed = await workerCall(`/internal/evaluations/${job.id}/complete`, {
      worker_id: "worker-a",
      results: files.results,
      report: files.report,
    });
    expect(completed.status, await completed.clone().text()).toBe(200);
    const done = (await completed.json()) as EvaluationJob;
    expect(done).toMatchObject({ status: "succeeded", completed: 12, progress: 1 });
    expect(done.result?.targets).toEqual(files.figures);
    expect(files.figures[0]).toMatchObject({ checked: 6, passed: 6, pass_rate: 1, exact_match_rate: 1 });

    const report = await call("GET", `/v1/evaluations/${job.id}/report`, { key: ADMIN });
    expect(((await report.json()) as { targets: unknown }).targets).toEqual(files.figures);
    const results = await call("GET", `/v1/evaluations/${job.id}/results`, { key: ADMIN });
    expect(results.headers.get("content-type")).toBe("application/x-ndjson");
    expect((await results.text()).split("\n")).toHaveLength(12);
    const model = (await (await call("GET", "/v1/models/demo-lm", { key: ADMIN })).json()) as ModelView;
    expect(model.versions[0]?.evaluations).toEqual([
      expect.objectContaining({
        job_id: job.id,
        target: "demo-lm@1",
        lines: 12,
        pass_rate: 1,
        report_uri: files.report.uri,
      }),
    ]);
    const list = (await (await call("GET", "/v1/evaluations?status=succeeded", { key: ADMIN })).json()) as {
      jobs: EvaluationJob[];
    };
    expect(list.jobs.map((listed) => listed.id)).toEqual([job.id]);
  });

  it("names the field at fault in a submission, and queues nothing", async () => {
    await registerModel("demo-lm");
    await registerAndPromote("spirals", tensorRegistration());
    const badLine = await storedFile(
      `{"prompt":"fine"}\n{"prompt":""}\nnot json\n{"prompt":"a","messages":[{"role":"user","content":"b"}]}`,
    );
    const problem = await expectProblem(await submit({ dataset: badLine, targets: ["demo-lm@1"] }), 400);
    expect(problem.errors?.map((error) => error.field)).toEqual([
      "dataset.lines.2.prompt",
      "dataset.lines.3",
      "dataset.lines.4.messages",
    ]);
    const dataset = await datasetOf(3);
    const missing = await expectProblem(
      await submit({ dataset: { ...dataset, uri: "s3://modelgate-test/nowhere.jsonl" }, targets: ["demo-lm@1"] }),
      422,
    );
    expect(missing.errors?.[0]?.field).toBe("dataset.uri");
    const changed = await expectProblem(
      await submit({ dataset: { ...dataset, sha256: "c".repeat(64) }, targets: ["demo-lm@1"] }),
      422,
    );
    expect(changed.errors?.[0]?.field).toBe("dataset.sha256");
    const unknown = await expectProblem(await submit({ dataset, targets: ["demo-lm@1", "nobody@1"] }), 404);
    expect(unknown.errors?.[0]?.field).toBe("targets.1");
    const tensor = await expectProblem(await submit({ dataset, targets: ["spirals"] }), 400);
    expect(tensor.errors?.[0]).toMatchObject({ field: "targets.0", message: "expected a causal-lm model" });
    const noFormat = await expectProblem(await submit({ dataset, targets: ["demo-lm@1:int8"] }), 404);
    expect(noFormat.errors?.[0]?.field).toBe("targets.0");
    const twice = await expectProblem(await submit({ dataset, targets: ["demo-lm@1", "demo-lm@1"] }), 400);
    expect(twice.errors?.[0]?.field).toBe("targets");
    const category = await expectProblem(await submit({ dataset, targets: ["auto:Not A Category"] }), 400);
    expect(category.errors?.[0]?.field).toBe("targets.0");
    const list = (await (await call("GET", "/v1/evaluations", { key: ADMIN })).json()) as { jobs: unknown[] };
    expect(list.jobs).toEqual([]);
  });

  it("pins auto:<category> to the category's best-scored Production version at submission", async () => {
    await registerAndPromote("demo-lm", causalLmRegistration({ categories: ["code"] }));
    const job = await queued(2, ["auto:code"]);
    expect(job.targets).toEqual([{ reference: "auto:code", model: "demo-lm", version: 1, label: "demo-lm@1" }]);
  });

  it("refuses a complete whose report is not what its results give, or that comes before every part, and the job keeps running", async () => {
    await registerModel("demo-lm");
    const job = await queued();
    await claim("worker-a");
    const early = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/complete`, {
        worker_id: "worker-a",
        results: await storedFile("{}"),
        report: await storedFile("{}"),
      }),
      409,
    );
    expect(early.detail).toContain("0 of 2 parts");
    const outside = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: "worker-a", chunk: part(2, 1) }),
      400,
    );
    expect(outside.errors?.[0]?.field).toBe("chunk.index");
    const short = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: "worker-a", chunk: part(0, 9) }),
      400,
    );
    expect(short.errors?.[0]?.field).toBe("chunk.results");

    const rows = rowsFor("demo-lm@1", 12);
    const files = await finishedFiles(job, "worker-a", rows);
    // One line counted twice (and one missing): refused, whatever the report says.
    const doubled = [...rows.slice(0, 11), { ...rows[0], latency_ms: 1 } as EvaluationResult];
    const twice = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/complete`, {
        worker_id: "worker-a",
        results: await storedFile(doubled.map((row) => JSON.stringify(row)).join("\n")),
        report: files.report,
      }),
      422,
    );
    expect(twice.errors?.[0]).toMatchObject({ field: "results", message: "line 1 on demo-lm@1 appears twice" });
    // Figures that differ from the rows: refused too.
    const otherRows = rows.map((row) => ({ ...row, latency_ms: row.latency_ms + 5 }));
    const skewed = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/complete`, {
        worker_id: "worker-a",
        results: await storedFile(otherRows.map((row) => JSON.stringify(row)).join("\n")),
        report: files.report,
      }),
      422,
    );
    expect(skewed.errors?.[0]?.field).toBe("report.targets");
    expect(await getEvaluation(job.id)).toMatchObject({ status: "running", worker_id: "worker-a", completed: 12 });
  });

  it("hands a job whose worker stopped renewing to the next worker with its recorded parts", async () => {
    await registerModel("demo-lm");
    const job = await queued();
    await claim("worker-a");
    await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: "worker-a", chunk: part(0, 10) });
    await sleep(LEASE_MS + 300);
    const second = await claim("worker-b");
    expect(second?.job).toMatchObject({ id: job.id, worker_id: "worker-b", attempts: 2, completed: 10 });
    expect(second?.job.chunks.map((chunk) => chunk.index)).toEqual([0]);
    expect(second?.job.errors).toEqual([
      expect.objectContaining({ message: "lease expired: worker worker-a stopped renewing", worker_id: "worker-a" }),
    ]);
    const stale = await expectProblem(
      await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: "worker-a", chunk: part(1, 2) }),
      409,
    );
    expect(stale.detail).toContain("moved to worker worker-b");
    expect((await getEvaluation(job.id)).completed).toBe(10);
  });

  it("cancels a running job: its worker's next report says so", async () => {
    await registerModel("demo-lm");
    const job = await queued();
    await claim("worker-a");
    const cancelled = await call("POST", `/v1/evaluations/${job.id}/cancel`, { key: ADMIN });
    expect(((await cancelled.json()) as EvaluationJob).status).toBe("cancelled");
    const report = await workerCall(`/internal/evaluations/${job.id}/progress`, { worker_id: "worker-a" });
    expect(((await report.json()) as EvaluationJob).status).toBe("cancelled");
    await expectProblem(await call("POST", `/v1/evaluations/${job.id}/cancel`, { key: ADMIN }), 409);
    await expectProblem(await call("GET", `/v1/evaluations/${job.id}/report`, { key: ADMIN }), 409);
    await expectProblem(await call("GET", "/v1/evaluations/ej_not-an-id", { key: ADMIN }), 400);
    await expectProblem(
      await call("GET", "/v1/evaluations/ej_00000000-0000-4000-8000-000000000000", { key: ADMIN }),
      404,
    );
  });

  it("keeps people and workers to their own routes", async () => {
    await registerModel("demo-lm");
    const body = { dataset: await datasetOf(2), targets: ["demo-lm@1"] };
    await expectProblem(await submit(body, ""), 401);
    await expectProblem(await submit(body, await keyWith("infer")), 403);
    await expectProblem(await submit(body, await keyWith("models:read")), 403);
    // The worker token is a machine identity: it cannot submit or read evaluations.
    await expectProblem(await submit(body, WORKER_TOKEN), 403);
    await expectProblem(await call("GET", "/v1/evaluations", { key: WORKER_TOKEN }), 403);
    const job = await queued(2);
    const reader = await keyWith("models:read");
    expect((await call("GET", `/v1/evaluations/${job.id}`, { key: reader })).status).toBe(200);
    await expectProblem(await call("POST", `/v1/evaluations/${job.id}/cancel`, { key: reader }), 403);
    // And admin keys are for people: they cannot claim or report as a worker.
    await expectProblem(
      await call("POST", "/internal/evaluations/claim", { key: ADMIN, body: { worker_id: "x" } }),
      403,
    );
    await expectProblem(await call("POST", "/internal/evaluations/claim", { body: { worker_id: "x" } }), 401);
    expect(await getEvaluation(job.id)).toMatchObject({ status: "queued", attempts: 0 });
  });
});
