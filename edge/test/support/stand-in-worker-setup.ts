import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import {
  createNonceGuard,
  DEFAULT_RUNTIME_CONFIG,
  type GenerateResponse,
  type RefinementLoop,
  SIGNATURE_HEADERS,
  TENSOR_FRAME_CONTENT_TYPE,
  verifySignedRequest,
  WORKER_INFER_PATH,
} from "@modelgate/shared";
import type { TestProject } from "vitest/node";
import { EDGE_TEST_SECRETS } from "./secrets.js";
import { standInTensorAnswer } from "./stand-in-tensors.js";

declare module "vitest" {
  export interface ProvidedContext {
    standInWorkerUrl: string;
    failingWorkerUrl: string;
    unreachableWorkerUrl: string;
  }
}

/**
 * The edge's tests need something on the far side of its forwarding: a plain Node HTTP server
 * that checks the edge's signature with the shared verifier and echoes what it received.
 * (The real GPU worker behind the real edge is covered by the full-stack test in test/.)
 */
function readBody(request: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  response.writeHead(status, { "content-type": contentType });
  response.end(JSON.stringify(body));
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? `http://127.0.0.1:${address.port}` : "");
    });
  });
}

interface ForwardedBody {
  data?: number[][];
  stream?: boolean;
  prompt?: string;
  messages?: { content: string }[];
  judge?: unknown;
  seed?: number;
  target?: { name: string; version: number };
}

/**
 * A whole generation as the real worker reports it. With a judge there are two loops: a
 * rejected draft, then the answer. Non-streamed, `text` is the forwarded body itself, so tests
 * of the edge's translations can see what it sent.
 */
function generation(forwarded: ForwardedBody, text: string): GenerateResponse {
  const judged = forwarded.judge !== undefined;
  const loops: RefinementLoop[] = (judged ? ["Draft", text] : [text]).map((loopText, index, all) => {
    const final = index === all.length - 1;
    return {
      loop: index + 1,
      text: loopText,
      tokens: final ? 2 : 1,
      prompt_tokens: 5 + index * 4,
      halt_probability: 0.25,
      judge_score: judged ? (final ? 0.9 : 0.2) : null,
      judge_feedback: judged && !final ? "try again" : null,
      finish_reason: "eos",
    };
  });
  const last = loops[loops.length - 1];
  return {
    model: forwarded.target?.name ?? "unknown",
    version: forwarded.target?.version ?? 0,
    worker_id: "stand-in",
    text,
    token_ids: [],
    tokens_generated: last?.tokens ?? 0,
    prompt_tokens: last?.prompt_tokens ?? 0,
    finish_reason: "eos",
    halt_logits: [0, -1],
    halt_probability: 0.25,
    refinement_loops: loops.length,
    loops,
    stop_reason: judged ? "judge_passed" : "no_judge",
    latent_spans_used: 0,
    ces_tokens_total: loops.reduce((sum, loop) => sum + loop.prompt_tokens + loop.tokens, 0),
    seed: forwarded.seed ?? 7,
    inference_time_ms: 12,
    tokens_per_second: 150,
    runtime_config: DEFAULT_RUNTIME_CONFIG,
  };
}

/**
 * Like the real worker: token events spaced out in time (with a judge, a draft loop first and a
 * `loop` event after each), then one done event. A prompt containing `[cut-stream]` ends the
 * stream after the first token, and `[worker-error]` sends an error event there instead.
 */
async function streamGeneration(response: ServerResponse, forwarded: ForwardedBody): Promise<void> {
  const said = forwarded.prompt ?? forwarded.messages?.map((m) => m.content).join("\n") ?? "";
  const write = (event: string, data: unknown) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const answer = generation(forwarded, "Hello");
  response.writeHead(200, { "content-type": "text/event-stream" });
  for (const report of answer.loops) {
    for (const text of report.text === "Hello" ? ["Hel", "lo"] : [report.text]) {
      write("token", { loop: report.loop, text });
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (said.includes("[cut-stream]")) return void response.end();
      if (said.includes("[worker-error]")) {
        write("error", { type: "about:blank", title: "Internal error", status: 500, code: "internal", detail: "boom" });
        return void response.end();
      }
    }
    if (forwarded.judge !== undefined) write("loop", report);
  }
  response.end(`event: done\ndata: ${JSON.stringify({ echoed: forwarded, ...answer })}\n\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nonceGuard = createNonceGuard();
  const standIn = createServer(async (request, response) => {
    const bytes = await readBody(request);
    const verdict = await verifySignedRequest({
      secret: EDGE_TEST_SECRETS.MODELGATE_SIGNING_SECRET,
      headers: { get: (name) => (request.headers[name] as string | undefined) ?? null },
      request: { method: request.method ?? "GET", pathWithQuery: request.url ?? "/", body: bytes },
      nonceGuard,
    });
    if (!verdict.ok) {
      send(response, 401, { status: 401, code: "unauthorized", detail: verdict.reason }, "application/problem+json");
      return;
    }
    if (request.url === WORKER_INFER_PATH) {
      const answer = standInTensorAnswer(bytes);
      response.writeHead(answer.status, {
        "content-type": answer.status === 200 ? TENSOR_FRAME_CONTENT_TYPE : "application/problem+json",
      });
      response.end(answer.body);
      return;
    }
    const body = new TextDecoder().decode(bytes);
    const parsed = JSON.parse(body) as ForwardedBody;
    if (request.url === "/v1/generate" && parsed.stream === true) {
      await streamGeneration(response, parsed);
      return;
    }
    if (request.url === "/v1/predict" && parsed.data?.[0]?.length !== 2) {
      send(
        response,
        400,
        { status: 400, code: "validation_failed", errors: [{ field: "data" }] },
        "application/problem+json",
      );
      return;
    }
    send(response, 200, {
      ...(request.url === "/v1/generate" ? generation(parsed, body) : {}),
      echoed: parsed,
      path: request.url,
      signed_with: request.headers[SIGNATURE_HEADERS.signature] ? "hmac" : "none",
    });
  });
  const failing = createServer((_request, response) =>
    send(response, 503, { detail: "stack trace: secret internals" }),
  );
  // Keeps its port for the whole run (a closed port could be taken by another test's server,
  // which then answers instead of refusing) and drops every connection at once, as a worker
  // that crashed while accepting would.
  const unreachable = createServer();
  unreachable.on("connection", (socket) => socket.destroy());
  const [standInWorkerUrl, failingWorkerUrl, unreachableWorkerUrl] = await Promise.all([
    listen(standIn),
    listen(failing),
    listen(unreachable),
  ]);
  project.provide("standInWorkerUrl", standInWorkerUrl);
  project.provide("failingWorkerUrl", failingWorkerUrl);
  project.provide("unreachableWorkerUrl", unreachableWorkerUrl);
  return async () => {
    await Promise.all([
      new Promise((resolve) => standIn.close(resolve)),
      new Promise((resolve) => failing.close(resolve)),
      new Promise((resolve) => unreachable.close(resolve)),
    ]);
  };
}
