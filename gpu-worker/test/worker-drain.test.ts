/**
 * Issue 17 on a real worker (HTTP, inference threads, s3rver) against a stand-in edge: the worker
 * enrols with a one-time token and heartbeats with its own credential; a drain announces itself,
 * lets a stream in flight finish, and only then closes.
 */

import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkerHeartbeatSchema } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { obtainWorkerCredential, WorkerCredentialError } from "../src/heartbeat/worker-credential.js";
import { buildDemoLm } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { uploadReferenceModel } from "./support/model-version.js";
import { signedPost } from "./support/signed-fetch.js";
import { startTestWorker, type TestWorker } from "./support/test-worker.js";

const CREDENTIAL = `mgw_${"c".repeat(64)}`;
const ENROLMENT_TOKEN = `mge_${"e".repeat(40)}.${"0".repeat(64)}`;

interface Received {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/**
 * Answers the enrolment exchange once (201, then 409 as the real edge does; 401 for a token it
 * never issued) and records heartbeats.
 */
async function startStandInEdge() {
  const received: Received[] = [];
  let exchanged = false;
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
    received.push({ path: request.url ?? "", authorization: request.headers.authorization, body });
    if (request.url === "/internal/workers/enrol") {
      const known = body.enrolment_token === ENROLMENT_TOKEN;
      const first = known && !exchanged;
      if (known) exchanged = true;
      response.writeHead(first ? 201 : known ? 409 : 401, { "content-type": "application/json" });
      response.end(
        JSON.stringify(first ? { worker_id: "test-worker", credential: CREDENTIAL, url_pattern: "*", labels: {} } : {}),
      );
      return;
    }
    response.writeHead(202).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    heartbeats: () =>
      received
        .filter((r) => r.path === "/internal/workers/heartbeat")
        .map((r) => ({ authorization: r.authorization, ...WorkerHeartbeatSchema.parse(r.body) })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let s3: LocalS3;
let edge: Awaited<ReturnType<typeof startStandInEdge>>;

beforeAll(async () => {
  s3 = await startLocalS3();
  edge = await startStandInEdge();
});
afterAll(async () => {
  await edge?.close();
  await s3?.close();
});

function startEnrollingWorker(credentialFile: string): Promise<TestWorker> {
  return startTestWorker(s3, {
    env: {
      MODELGATE_EDGE_URL: edge.url,
      MODELGATE_WORKER_TOKEN: "",
      MODELGATE_ENROLMENT_TOKEN: ENROLMENT_TOKEN,
      MODELGATE_CREDENTIAL_FILE: credentialFile,
      MODELGATE_CONVERSION_POLL_MS: "0",
      MODELGATE_DRAIN_QUIET_MS: "200",
    },
    start: { heartbeats: true },
  });
}

describe("a worker's own credential and its drain", () => {
  it("enrols once, heartbeats with its credential, reuses it after a restart, and drains a stream to its end", async () => {
    const credentialDir = await mkdtemp(join(tmpdir(), "modelgate-credential-"));
    const credentialFile = join(credentialDir, "nested", "credential");
    let worker = await startEnrollingWorker(credentialFile);
    expect(edge.received[0]?.path).toBe("/internal/workers/enrol");
    expect(await readFile(credentialFile, "utf8")).toBe(`${CREDENTIAL}\n`);
    expect((await stat(credentialFile)).mode & 0o777).toBe(0o600);
    await waitFor(() => edge.heartbeats().length > 0);
    expect(edge.heartbeats()[0]?.authorization).toBe(`Bearer ${CREDENTIAL}`);
    await worker.close();

    // The same environment again (a restart): the token is spent, the stored credential is used.
    worker = await startEnrollingWorker(credentialFile);
    const before = edge.heartbeats().length;
    await waitFor(() => edge.heartbeats().length > before);
    expect(edge.heartbeats().at(-1)?.authorization).toBe(`Bearer ${CREDENTIAL}`);

    const target = await uploadReferenceModel(s3, buildDemoLm());
    const stream = await signedPost(worker.url, "/v1/generate", {
      model: "demo-lm",
      target,
      prompt: "The worker",
      max_new_tokens: 400,
      temperature: 0.8,
      stream: true,
    });
    expect(stream.status).toBe(200);
    const reader = stream.body?.getReader();
    if (!reader) throw new Error("no stream");
    await reader.read();

    const announcedFrom = edge.heartbeats().length;
    const drained = worker.drain();
    // The edge hears at once that this worker takes nothing new, while the stream still runs.
    await waitFor(() =>
      edge
        .heartbeats()
        .slice(announcedFrom)
        .some((h) => h.draining === true),
    );
    const announcement = edge
      .heartbeats()
      .slice(announcedFrom)
      .find((h) => h.draining === true);
    expect(announcement?.in_flight).toBeGreaterThan(0);

    let rest = "";
    const decoder = new TextDecoder();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
    expect(rest).toContain("event: done");
    expect(rest).not.toContain("event: error");
    await drained;
    // Its last word: draining with nothing left in flight, then the port is closed.
    expect(edge.heartbeats().at(-1)).toMatchObject({ draining: true, in_flight: 0, queue_depth: 0 });
    await expect(fetch(`${worker.url}/health`)).rejects.toThrow();
    await worker.close();
    await rm(credentialDir, { recursive: true, force: true });
  });
});

describe("obtaining the credential", () => {
  it("falls back to a stored credential when the edge is unreachable, and names what is missing otherwise", async () => {
    const dir = await mkdtemp(join(tmpdir(), "modelgate-credential-"));
    const unreachable = {
      edgeUrl: "http://127.0.0.1:9",
      workerId: "test-worker",
      enrolmentToken: ENROLMENT_TOKEN,
      credentialFile: join(dir, "credential"),
      legacyToken: undefined,
      reachEdgeWithinMs: 300,
    };
    await expect(obtainWorkerCredential(unreachable)).rejects.toThrow(WorkerCredentialError);
    await writeFile(unreachable.credentialFile, `${CREDENTIAL}\n`);
    expect(await obtainWorkerCredential(unreachable)).toEqual({ credential: CREDENTIAL, source: "stored" });
    // A token the edge refuses is an error even with a stored credential: the operator meant a new one.
    const refused = obtainWorkerCredential({ ...unreachable, edgeUrl: edge.url, enrolmentToken: "mge_wrong.0" });
    await expect(refused).rejects.toThrow(/refused the enrolment token \(401\)/);
    await rm(dir, { recursive: true, force: true });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
