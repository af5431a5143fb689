/**
 * Requests signed straight to any GPU worker of the stack (the stack's own or an extra one), as
 * the edge signs them: for benchmarks that compare the edge with calling workers directly.
 */
import { type ModelVersion, signRequest } from "@modelgate/shared";
import { createWorkerClient, type StackAddresses } from "./worker-client.js";

/** The version document a worker takes as `target` (`GET /v1/models/<name>/versions/<n>` minus aliases). */
export async function resolveWorkerTarget(
  stack: StackAddresses,
  model: string,
  version: number,
): Promise<ModelVersion> {
  return (await createWorkerClient(stack, model, version)).target;
}

/** The signature headers for one request (each carries its own nonce, so sign every send). */
export function signedHeaders(
  signingSecret: string,
  workerId: string,
  path: string,
  body: string,
): Promise<Record<string, string>> {
  return signRequest(signingSecret, { method: "POST", pathWithQuery: path, body, workerId }).then((signature) => ({
    "content-type": "application/json",
    ...signature,
  }));
}

/** POSTs `body` to `workerUrl + path`, signed. */
export async function postSignedToWorker(
  signingSecret: string,
  worker: { url: string; workerId: string },
  path: string,
  body: string,
  signal?: AbortSignal,
): Promise<Response> {
  const headers = await signedHeaders(signingSecret, worker.workerId, path, body);
  return fetch(`${worker.url}${path}`, { method: "POST", headers, body, ...(signal ? { signal } : {}) });
}

/** The worker's `GET /health` load figures. */
export async function workerLoad(workerUrl: string): Promise<{ queue_depth: number; in_flight: number }> {
  const response = await fetch(`${workerUrl}/health`);
  if (!response.ok) throw new Error(`${workerUrl}/health answered ${response.status}`);
  return (await response.json()) as { queue_depth: number; in_flight: number };
}
