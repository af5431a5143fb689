import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createNonceGuard, SIGNATURE_HEADERS, verifySignedRequest } from "@modelgate/shared";
import type { TestProject } from "vitest/node";
import { EDGE_TEST_SECRETS } from "./secrets.js";

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
function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
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

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const nonceGuard = createNonceGuard();
  const standIn = createServer(async (request, response) => {
    const body = await readBody(request);
    const verdict = await verifySignedRequest({
      secret: EDGE_TEST_SECRETS.MODELGATE_SIGNING_SECRET,
      headers: { get: (name) => (request.headers[name] as string | undefined) ?? null },
      request: { method: request.method ?? "GET", pathWithQuery: request.url ?? "/", body },
      nonceGuard,
    });
    if (!verdict.ok) {
      send(response, 401, { status: 401, code: "unauthorized", detail: verdict.reason }, "application/problem+json");
      return;
    }
    const parsed = JSON.parse(body) as { data?: number[][]; stream?: boolean };
    if (request.url === "/v1/generate" && parsed.stream === true) {
      // Like the real worker: token events spaced out in time, then one done event.
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (const text of ["Hel", "lo"]) {
        response.write(`event: token\ndata: ${JSON.stringify({ loop: 1, text })}\n\n`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      response.end(`event: done\ndata: ${JSON.stringify({ echoed: parsed })}\n\n`);
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
      echoed: parsed,
      path: request.url,
      signed_with: request.headers[SIGNATURE_HEADERS.signature] ? "hmac" : "none",
    });
  });
  const failing = createServer((_request, response) =>
    send(response, 503, { detail: "stack trace: secret internals" }),
  );
  const unreachable = createServer();
  const [standInWorkerUrl, failingWorkerUrl, unreachableWorkerUrl] = await Promise.all([
    listen(standIn),
    listen(failing),
    listen(unreachable),
  ]);
  // Closed at once: its port now refuses connections, like a crashed worker.
  await new Promise((resolve) => unreachable.close(resolve));
  project.provide("standInWorkerUrl", standInWorkerUrl);
  project.provide("failingWorkerUrl", failingWorkerUrl);
  project.provide("unreachableWorkerUrl", unreachableWorkerUrl);
  return async () => {
    await Promise.all([
      new Promise((resolve) => standIn.close(resolve)),
      new Promise((resolve) => failing.close(resolve)),
    ]);
  };
}
