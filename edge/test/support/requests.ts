import { createExecutionContext, env, reset, SELF, waitOnExecutionContext } from "cloudflare:test";
import type { RegisterVersionRequest, WorkerHeartbeat } from "@modelgate/shared";
import { inject } from "vitest";
import edgeWorker from "../../src/index.js";
import { EDGE_TEST_SECRETS } from "./secrets.js";

export { putTestArtifact } from "./test-s3.js";

export const ADMIN = EDGE_TEST_SECRETS.MODELGATE_ADMIN_KEY;
export const WORKER_TOKEN = EDGE_TEST_SECRETS.MODELGATE_WORKER_TOKEN;

/**
 * A request to the edge Worker as a client sends it: real routing, middleware and bindings,
 * through the Worker's own `fetch` export (what `SELF` reaches) with an execution context of its
 * own, whose `waitUntil` work `resetEdge` waits for. Called directly rather than through `SELF`:
 * each `SELF.fetch` asks the Vite server for the main module again over RPC, and that cost grew
 * with every call in a file (a plain 401 went from 4 ms to 50 ms over 700 calls), which made the
 * route × credential matrix alone take 40-80 s.
 */
type CallOptions = { key?: string | undefined; body?: unknown; rawBody?: string; headers?: Record<string, string> };

function clientRequest(method: string, path: string, options: CallOptions): Request {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["content-type"] ??= "application/json";
  return new Request(`https://edge.test${path}`, { method, headers, body });
}

export async function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const context = createExecutionContext();
  pendingContexts.add(context);
  const response = await edgeWorker.fetch(clientRequest(method, path, options), env, context);
  unreadResponses.add(response);
  return response;
}

/**
 * The same request through `SELF`, in a request context of its own, for tests that cancel a
 * forwarded answer mid-stream: workerd reports the cancelled read inside the edge's stream
 * wrapper as an unhandled rejection when the Worker runs in the test's own context.
 */
export async function callThroughSelf(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const response = await SELF.fetch(clientRequest(method, path, options));
  unreadResponses.add(response);
  return response;
}

/** Execution contexts of `call`s whose `waitUntil` work (analytics, metrics flushes) may still run. */
const pendingContexts = new Set<ExecutionContext>();
/** Responses of `call`s, whose bodies a test may have left unread. */
const unreadResponses = new Set<Response>();
/** Background work that waits on a response body nobody read would wait for ever: bounded. */
const BACKGROUND_WAIT_MS = 2000;

/**
 * `reset()` of cloudflare:test once the background work of every request so far has ended:
 * deleting the Durable Objects under a pending analytics write or metrics flush failed that
 * work as an unhandled rejection, which fails the whole run. Bodies a test left unread are
 * cancelled first, as a client that goes away would: the edge's stream wrappers then end, and the
 * work waiting for them (a forwarded answer's selection event) runs now rather than never.
 */
export async function resetEdge(): Promise<void> {
  const responses = [...unreadResponses];
  unreadResponses.clear();
  await Promise.allSettled(responses.filter((r) => !r.bodyUsed && r.body).map((r) => r.body?.cancel()));
  const contexts = [...pendingContexts];
  pendingContexts.clear();
  await Promise.allSettled(
    contexts.map((context) =>
      Promise.race([
        waitOnExecutionContext(context),
        new Promise((resolve) => setTimeout(resolve, BACKGROUND_WAIT_MS)),
      ]),
    ),
  );
  await reset();
}

export const SHA_A = "a".repeat(64);

/**
 * Registrations verify their artifact in S3, so the defaults below point at real objects that
 * s3-server-setup.ts stored before the tests; `putTestArtifact` makes more.
 */
export function fixtureArtifact(name: "causalLm" | "tensor"): RegisterVersionRequest["artifact"] {
  return { ...inject("fixtureArtifacts")[name], format: "onnx" };
}

export function causalLmRegistration(overrides: Partial<RegisterVersionRequest> = {}): RegisterVersionRequest {
  return {
    kind: "causal-lm",
    artifact: fixtureArtifact("causalLm"),
    io: {
      inputs: [{ name: "input_ids", dtype: "int64", shape: [1, "sequence"] }],
      outputs: [
        { name: "logits", dtype: "float32", shape: [1, "sequence", 260] },
        { name: "halt_logits", dtype: "float32", shape: [1, 2] },
      ],
    },
    tokenizer: { type: "byte-level", vocab_size: 260, bos_token_id: 256, eos_token_id: 257 },
    categories: ["general"],
    benchmark_scores: {},
    metrics: {},
    ...overrides,
  };
}

export function tensorRegistration(overrides: Partial<RegisterVersionRequest> = {}): RegisterVersionRequest {
  return {
    kind: "tensor",
    artifact: fixtureArtifact("tensor"),
    io: {
      inputs: [{ name: "features", dtype: "float32", shape: ["batch", 2] }],
      outputs: [{ name: "probabilities", dtype: "float32", shape: ["batch", 2] }],
    },
    categories: ["classification"],
    benchmark_scores: {},
    metrics: { val_acc: 0.95 },
    ...overrides,
  };
}

export function heartbeat(overrides: Partial<WorkerHeartbeat> = {}): WorkerHeartbeat {
  return {
    worker_id: "worker-a",
    url: "http://127.0.0.1:1",
    sent_at: new Date().toISOString(),
    interval_ms: 5000,
    gpus: [
      {
        index: 0,
        uuid: "GPU-0",
        name: "Test GPU",
        device: "cuda",
        utilization_gpu_pct: 10,
        utilization_memory_pct: 5,
        memory_used_mb: 1000,
        memory_total_mb: 24_000,
        memory_free_mb: 23_000,
        temperature_c: 50,
        power_draw_w: 100,
        power_limit_w: 300,
      },
    ],
    loaded_models: [],
    queue_depth: 0,
    in_flight: 0,
    tokens_per_second: 0,
    ...overrides,
  };
}

export async function registerAndPromote(name: string, registration: RegisterVersionRequest): Promise<number> {
  const registered = await call("POST", `/v1/models/${name}/versions`, { key: ADMIN, body: registration });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const { version } = (await registered.json()) as { version: number };
  const promoted = await call("POST", `/v1/models/${name}/versions/${version}/stage`, {
    key: ADMIN,
    body: { stage: "Production" },
  });
  if (promoted.status !== 200) throw new Error(`promote failed: ${promoted.status} ${await promoted.text()}`);
  return version;
}

export async function expectProblem(
  response: Response,
  status: number,
): Promise<{ code: string; detail?: string; errors?: { field: string }[] }> {
  const text = await response.text();
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${text}`);
  if (!response.headers.get("content-type")?.startsWith("application/problem+json")) {
    throw new Error(`expected problem+json, got ${response.headers.get("content-type")}`);
  }
  return JSON.parse(text) as { code: string; detail?: string; errors?: { field: string }[] };
}

/** Announces a worker through the real heartbeat route, as a GPU worker would. */
export async function sendHeartbeat(overrides: Partial<WorkerHeartbeat>): Promise<void> {
  const response = await call("POST", "/internal/workers/heartbeat", { key: WORKER_TOKEN, body: heartbeat(overrides) });
  if (response.status !== 202) throw new Error(`heartbeat failed: ${response.status} ${await response.text()}`);
}
