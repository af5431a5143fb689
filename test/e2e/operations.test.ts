/**
 * Operating the `npm start` stack with real tools: Debian's Prometheus scrapes the edge and the
 * worker (both targets up, a request through the edge visible within two scrapes), evaluates
 * the alert rules on that data, and answers every Grafana panel's query; and the stack's own
 * logs — JSON lines from both sides, one request id carried edge → worker — hold none of the
 * secrets, keys, signatures or prompt text the run used.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dashboardQueries, loadDashboard, substituteGrafanaVariables } from "@modelgate/infra/dashboard-queries";
import { freePort, freeStackPorts, type LocalStack, REPO_ROOT, startLocalStack } from "@modelgate/infra/local-stack";
import { type RunningPrometheus, startPrometheus } from "@modelgate/infra/prometheus-server";
import { metricNamesInPromQL } from "@modelgate/infra/promql-metric-names";
import { EDGE_JOB, prometheusConfig, WORKER_JOB } from "@modelgate/infra/scrape-config";
import { CATALOGUED_SERIES_NAMES, randomNonce, signRequest } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callEdge, jsonWithStatus } from "../support/stack-calls.js";

const SCRAPE_INTERVAL_S = 1;
/** Each edge isolate hands its sums to the aggregator once per window. */
const EDGE_FLUSH_MS = 500;

let dataDir: string;
let stack: LocalStack;
let prometheus: RunningPrometheus;
const logLines: Array<{ source: "edge" | "worker"; line: string }> = [];
/** Everything secret this run used: none of it may reach a log line. */
const secrets = new Map<string, string>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "modelgate-ops-"));
  stack = await startLocalStack({
    dataDir,
    ...(await freeStackPorts()),
    gpuMonitorIntervalMs: 1000,
    edgeVars: { MODELGATE_METRICS_FLUSH_MS: String(EDGE_FLUSH_MS) },
    childOutput: (source, line) => logLines.push({ source, line }),
  });
  const configFile = join(dataDir, "prometheus-test.yml");
  await writeFile(
    configFile,
    prometheusConfig({
      edgeUrl: stack.edgeUrl,
      workerUrls: [stack.workerUrl],
      edgeTokenFile: join(dataDir, "metrics-token"),
      ruleFiles: [join(REPO_ROOT, "infra", "prometheus", "alerts.yml")],
      scrapeIntervalSeconds: SCRAPE_INTERVAL_S,
    }),
  );
  prometheus = await startPrometheus({ configFile, dataDir: join(dataDir, "tsdb"), port: await freePort() });
  secrets.set("admin key", stack.adminKey);
  secrets.set("worker token", stack.workerToken);
  secrets.set("signing secret", stack.signingSecret);
  secrets.set("metrics token", stack.metricsToken);
  // The worker's own credential, which it got by exchanging its enrolment token at start-up.
  secrets.set("worker credential", (await readFile(join(dataDir, "credentials", stack.workerId), "utf8")).trim());
});

afterAll(async () => {
  await prometheus?.stop();
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The sum of an instant vector (0 when it is empty). */
async function total(expr: string): Promise<number> {
  const samples = await prometheus.query(expr);
  return samples.reduce((sum, sample) => sum + Number(sample.value[1]), 0);
}

const PROMPT_MARKER = "prompt text that must never be logged 5be1";

describe("Prometheus scraping the npm start stack", () => {
  it("sees both targets up", async () => {
    const targets = await until("both targets up", 20_000, async () => {
      const active = await prometheus.targets();
      return active.length === 2 && active.every((t) => t.health === "up") ? active : undefined;
    });
    expect(targets.map((t) => t.labels.job).sort()).toEqual([EDGE_JOB, WORKER_JOB].sort());
    expect(await total(`up{job="${EDGE_JOB}"}`)).toBe(1);
    expect(await total(`up{job="${WORKER_JOB}"}`)).toBe(1);
  });

  it("shows a request made through the edge in modelgate_* series within two scrapes", async () => {
    const edgeSeries = `sum(modelgate_edge_requests_total{route="/v1/generate",status_class="2xx",model="demo-lm",worker_id="${stack.workerId}"})`;
    const workerSeries = `sum(modelgate_inference_request_success_total{endpoint="generate",model="demo-lm",worker_id="${stack.workerId}"})`;
    const tokenSeries = `sum(modelgate_generation_tokens_total{model="demo-lm",worker_id="${stack.workerId}"})`;
    const [edgeBefore, workerBefore, tokensBefore] = await Promise.all([
      total(edgeSeries),
      total(workerSeries),
      total(tokenSeries),
    ]);
    const requestId = "ops-test-request-0001";
    const sentAt = Date.now();
    const response = await fetch(`${stack.edgeUrl}/v1/generate`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${stack.adminKey}`,
        "content-type": "application/json",
        "x-request-id": requestId,
      },
      body: JSON.stringify({ model: "demo-lm", prompt: PROMPT_MARKER, max_new_tokens: 6, temperature: 0 }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe(requestId);
    const answer = (await response.json()) as { tokens_generated: number };
    // Two scrape intervals, plus the edge's flush window, plus a little for the query itself.
    const budgetMs = 2 * SCRAPE_INTERVAL_S * 1000 + EDGE_FLUSH_MS + 1500;
    await until("the request in both targets' series", budgetMs, async () => {
      const [edgeNow, workerNow] = await Promise.all([total(edgeSeries), total(workerSeries)]);
      return edgeNow >= edgeBefore + 1 && workerNow >= workerBefore + 1 ? true : undefined;
    });
    console.log(
      `operations: a request reached both targets' series in Prometheus ${Date.now() - sentAt} ms after it was sent`,
    );
    expect(await total(edgeSeries)).toBe(edgeBefore + 1);
    expect(await total(workerSeries)).toBe(workerBefore + 1);
    expect(await total(tokenSeries)).toBe(tokensBefore + answer.tokens_generated);
  });

  it("answers every Grafana panel's query, each naming only metrics the targets export", async () => {
    const queries = dashboardQueries(await loadDashboard());
    expect(queries.length).toBeGreaterThan(20);
    const exported = await prometheus.metadataNames();
    const familyOf = (series: string) => series.replace(/_(bucket|sum|count)$/, "");
    const problems: string[] = [];
    const withData = new Set<string>();
    for (const query of queries) {
      const expr = substituteGrafanaVariables(query.expr);
      try {
        if ((await prometheus.query(expr)).length > 0) withData.add(query.panelTitle);
      } catch (error) {
        problems.push(
          `${query.panelTitle} (${query.refId}): ${error instanceof Error ? error.message : String(error)}`,
        );
        continue;
      }
      for (const name of metricNamesInPromQL(expr)) {
        if (name === "up") continue;
        if (!CATALOGUED_SERIES_NAMES.has(name)) problems.push(`${query.panelTitle}: ${name} is not in the catalogue`);
        else if (!exported.has(familyOf(name)) && !exported.has(name)) {
          problems.push(`${query.panelTitle}: ${name} is not exported by either target`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The traffic above and the GPU monitor make the main panels show data, not just parse.
    const titles = queries.map((q) => q.panelTitle);
    const gpuPanel = titles.find((t) => /gpu/i.test(t) && /util/i.test(t));
    expect(gpuPanel, `GPU utilization panel among ${titles.join(", ")}`).toBeDefined();
    await until("the GPU utilization panel to show data", 5000, async () => {
      const query = queries.find((q) => q.panelTitle === gpuPanel);
      if (!query) return undefined;
      return (await prometheus.query(substituteGrafanaVariables(query.expr))).length > 0 ? true : undefined;
    });
    console.log(`operations: ${queries.length} dashboard queries parsed and ran; ${withData.size} panels had data`);
  });

  it("loads the alert rules and evaluates every one on the real data without error, none of the outage alerts firing", async () => {
    const groups = await until("every rule evaluated", 10_000, async () => {
      const loaded = await prometheus.ruleGroups();
      const rules = loaded.flatMap((g) => g.rules);
      return rules.length > 0 && rules.every((r) => r.health !== "unknown") ? loaded : undefined;
    });
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError ?? r.health}`)).toEqual([]);
    const outages = ["ModelgateEdgeDown", "ModelgateWorkerDown", "ModelgateProductionModelUnservable"];
    for (const name of outages) {
      const rule = rules.find((r) => r.name === name);
      expect(rule, name).toBeDefined();
      expect(rule?.state, name).toBe("inactive");
    }
  });
});

describe("the stack's logs", () => {
  it("are JSON lines from both sides, carry the request id edge → worker, and hold no secret, key, signature or prompt", async () => {
    // A workload touching keys, streaming, the OpenAI API, predictions, uploads and refused calls.
    const created = (await jsonWithStatus(
      await callEdge(stack, "POST", "/v1/keys", { name: "ops-logs", scopes: ["infer"] }),
      201,
    )) as { key: string };
    secrets.set("created API key", created.key);
    const chat = await fetch(`${stack.edgeUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${created.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-lm", messages: [{ role: "user", content: PROMPT_MARKER }], max_tokens: 4 }),
    });
    expect(chat.status).toBe(200);
    await chat.text();
    const streamed = await callEdge(stack, "POST", "/v1/generate", {
      model: "demo-lm",
      prompt: PROMPT_MARKER,
      max_new_tokens: 4,
      stream: true,
    });
    expect((await streamed.text()).includes("event: done")).toBe(true);
    await jsonWithStatus(await callEdge(stack, "POST", "/v1/predict", { model: "spirals", data: [[0.5, 0.3]] }), 200);
    expect((await callEdge({ ...stack, adminKey: "mg_wrong_key_0000000000000000" }, "GET", "/v1/models")).status).toBe(
      401,
    );
    // An upload: the presigned URL's signature is a secret too.
    const bytes = Buffer.from("operations test artifact");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const upload = (await jsonWithStatus(
      await callEdge(stack, "POST", "/v1/uploads", { sha256, bytes: bytes.length, format: "onnx" }),
      201,
    )) as { id: string; parts: Array<{ url: string; headers?: Record<string, string> }> };
    const part = upload.parts[0];
    if (!part) throw new Error("the upload has no part");
    const presignedSignature = new URL(part.url).searchParams.get("X-Amz-Signature");
    if (presignedSignature) secrets.set("presigned URL signature", presignedSignature);
    expect((await fetch(part.url, { method: "PUT", body: bytes, headers: part.headers ?? {} })).status).toBe(200);
    await jsonWithStatus(await callEdge(stack, "POST", `/v1/uploads/${upload.id}/complete`, {}), 200);
    // A forged call straight to the worker: refused, and its signature must not be logged either.
    const body = JSON.stringify({ model: "demo-lm", prompt: PROMPT_MARKER });
    const forged = await signRequest(
      "not-the-signing-secret-000000",
      { method: "POST", pathWithQuery: "/v1/generate", body },
      Date.now(),
      randomNonce(),
    );
    for (const value of Object.values(forged))
      if (value.length >= 16) secrets.set(`forged signature header ${value.slice(0, 6)}`, value);
    const refused = await fetch(`${stack.workerUrl}/v1/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...forged },
      body,
    });
    expect(refused.status).toBe(401);
    // Let the last lines arrive (wrangler relays the Worker's console output).
    await new Promise((resolve) => setTimeout(resolve, 500));

    const parsed = logLines.map(({ source, line }) => {
      const start = line.indexOf("{");
      try {
        return {
          source,
          line,
          entry: start >= 0 ? (JSON.parse(line.slice(start)) as Record<string, unknown>) : undefined,
        };
      } catch {
        return { source, line, entry: undefined };
      }
    });
    const workerLines = parsed.filter((l) => l.source === "worker");
    // Every worker line is one pino JSON object.
    expect(workerLines.filter((l) => l.entry === undefined).map((l) => l.line)).toEqual([]);
    const requests = parsed.filter((l) => l.entry?.msg === "request");
    const edgeRequests = requests.filter((l) => l.entry?.service === "modelgate-edge");
    const workerRequests = requests.filter((l) => l.entry?.service === "modelgate-gpu-worker");
    expect(edgeRequests.length).toBeGreaterThan(5);
    expect(workerRequests.length).toBeGreaterThan(3);
    // The request id the caller chose is on the edge's line and on the worker's line.
    const carried = "ops-test-request-0001";
    expect(edgeRequests.find((l) => l.entry?.request_id === carried)?.entry).toMatchObject({
      route: "/v1/generate",
      status: 200,
      worker_id: stack.workerId,
    });
    expect(workerRequests.find((l) => l.entry?.request_id === carried)?.entry).toMatchObject({
      path: "/v1/generate",
      status: 200,
    });
    // Nothing secret anywhere, at the info level the stack runs at.
    const everything = logLines.map((l) => l.line).join("\n");
    const leaked = [...secrets].filter(([, value]) => everything.includes(value)).map(([what]) => what);
    expect(leaked).toEqual([]);
    expect(everything).not.toContain(PROMPT_MARKER);
    expect(everything).not.toMatch(/authorization["']?\s*[:=]\s*["']?Bearer/i);
  });
});
