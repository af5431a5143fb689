import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type WorkerHeartbeat, WorkerHeartbeatSchema } from "@modelgate/shared";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHeartbeatSender } from "../src/heartbeat/heartbeat-sender.js";
import { buildSpiralsClassifier } from "../src/reference-models/index.js";
import { type LocalS3, startLocalS3 } from "./support/local-s3.js";
import { modelVersionFor } from "./support/model-version.js";
import { startTestWorker, TEST_WORKER_TOKEN, type TestWorker } from "./support/test-worker.js";

interface ReceivedHeartbeat {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A tiny real HTTP server standing in for the edge's heartbeat endpoint. */
async function startEdgeReceiver(status = 204, port = 0, answer?: (heartbeat: WorkerHeartbeat) => object) {
  const received: ReceivedHeartbeat[] = [];
  const waiters: Array<() => void> = [];
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      path: request.url ?? "",
      authorization: request.headers.authorization,
      contentType: request.headers["content-type"],
      body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
    });
    const last = received.at(-1)?.body as WorkerHeartbeat;
    if (answer) response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer(last)));
    else response.writeHead(status).end();
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    received,
    async waitFor(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${received.length} of ${count} heartbeats arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("heartbeats from a running worker", () => {
  let s3: LocalS3;
  let edge: Awaited<ReturnType<typeof startEdgeReceiver>>;
  let worker: TestWorker;

  beforeAll(async () => {
    s3 = await startLocalS3();
    edge = await startEdgeReceiver();
    worker = await startTestWorker(s3, {
      // Conversion and evaluation polling off: this receiver only understands heartbeats.
      env: {
        MODELGATE_EDGE_URL: edge.url,
        GPU_MONITOR_INTERVAL_MS: "1000",
        MODELGATE_CONVERSION_POLL_MS: "0",
        MODELGATE_EVALUATION_POLL_MS: "0",
      },
      start: { heartbeats: true },
    });
  });
  afterAll(async () => {
    await worker?.close();
    await edge?.close();
    await s3?.close();
  });

  it("sends one at start and then every interval, with the bearer token and a valid body", async () => {
    await edge.waitFor(1, 2000);
    await edge.waitFor(3);
    for (const heartbeat of edge.received) {
      expect(heartbeat.path).toBe("/internal/workers/heartbeat");
      expect(heartbeat.authorization).toBe(`Bearer ${TEST_WORKER_TOKEN}`);
      expect(heartbeat.contentType).toContain("application/json");
      const body = WorkerHeartbeatSchema.parse(heartbeat.body);
      expect(body).toMatchObject({
        worker_id: "test-worker",
        url: worker.advertisedUrl,
        interval_ms: 1000,
        queue_depth: 0,
        in_flight: 0,
      });
      expect(body.gpus.length).toBeGreaterThan(0);
    }
    const times = edge.received.map((h) => Date.parse((h.body as WorkerHeartbeat).sent_at));
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(900);
  });
});

describe("placement preload from the heartbeat answer", () => {
  let s3: LocalS3;
  let edge: Awaited<ReturnType<typeof startEdgeReceiver>>;
  let worker: TestWorker;

  afterAll(async () => {
    await worker?.close();
    await edge?.close();
    await s3?.close();
  });

  it("loads the versions the edge lists and reports them loaded in the next heartbeats", async () => {
    s3 = await startLocalS3();
    const built = buildSpiralsClassifier();
    const spirals = modelVersionFor(built, await s3.upload(built.name, built.onnx));
    edge = await startEdgeReceiver(202, 0, (heartbeat) => ({
      worker_id: heartbeat.worker_id,
      received_at: new Date().toISOString(),
      preload: [spirals],
    }));
    worker = await startTestWorker(s3, {
      // Conversion and evaluation polling off: this receiver only understands heartbeats.
      env: {
        MODELGATE_EDGE_URL: edge.url,
        GPU_MONITOR_INTERVAL_MS: "1000",
        MODELGATE_CONVERSION_POLL_MS: "0",
        MODELGATE_EVALUATION_POLL_MS: "0",
      },
      start: { heartbeats: true },
    });
    const deadline = Date.now() + 10_000;
    const loadedIn = () =>
      edge.received.some((h) =>
        (h.body as WorkerHeartbeat).loaded_models.some((m) => m.name === spirals.name && m.version === spirals.version),
      );
    while (!loadedIn() && Date.now() < deadline) await edge.waitFor(edge.received.length + 1);
    expect(loadedIn()).toBe(true);
    // Nobody asked it to run anything: the model was warmed, not served.
    const first = WorkerHeartbeatSchema.parse(edge.received[0]?.body);
    expect(first.loaded_models).toEqual([]);
  });
});

describe("heartbeat sender", () => {
  const stops: Array<() => void> = [];
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
  });

  const heartbeat = (): WorkerHeartbeat => ({
    worker_id: "w1",
    url: "http://127.0.0.1:1",
    sent_at: new Date().toISOString(),
    interval_ms: 1000,
    gpus: [
      {
        index: 0,
        uuid: "cpu",
        name: "cpu",
        device: "cpu",
        utilization_gpu_pct: null,
        utilization_memory_pct: null,
        memory_used_mb: 1,
        memory_total_mb: 2,
        memory_free_mb: 1,
        temperature_c: null,
        power_draw_w: null,
        power_limit_w: null,
      },
    ],
    loaded_models: [],
    queue_depth: 0,
    in_flight: 0,
    tokens_per_second: 0,
  });

  it("joins an edge that comes up after the worker within a moment, not a whole interval later", async () => {
    // The edge's port is known before it listens: the worker starts first, as the local stack does.
    const edge = await startEdgeReceiver();
    const port = new URL(edge.url).port;
    await edge.close();
    const sender = createHeartbeatSender({
      edgeUrl: `http://127.0.0.1:${port}`,
      workerToken: "t",
      intervalMs: 10_000,
      buildHeartbeat: heartbeat,
    });
    stops.push(() => sender.stop());
    sender.start();
    await new Promise((resolve) => setTimeout(resolve, 600));
    const late = await startEdgeReceiver(204, Number(port));
    stops.push(() => late.close());
    const started = Date.now();
    await late.waitFor(1, 5000);
    // Retries back off from 250 ms; an interval of 10 s would otherwise be the wait.
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("keeps running when the edge is down or refuses, and stop() ends it", async () => {
    const warnings: string[] = [];
    const quiet: string[] = [];
    const logger = {
      debug: (message: string) => quiet.push(message),
      info() {},
      error() {},
      warn: (message: string) => warnings.push(message),
    };
    const down = createHeartbeatSender({
      edgeUrl: "http://127.0.0.1:9",
      workerToken: "t",
      intervalMs: 1000,
      buildHeartbeat: heartbeat,
      logger,
    });
    // An edge that does not answer yet may still be starting: no warning in the first seconds.
    expect(await down.sendNow()).toBe(false);
    expect(warnings).toHaveLength(0);
    expect(quiet).toHaveLength(1);

    const refusing = await startEdgeReceiver(401);
    const sender = createHeartbeatSender({
      edgeUrl: refusing.url,
      workerToken: "t",
      intervalMs: 1000,
      buildHeartbeat: heartbeat,
      logger,
    });
    stops.push(() => sender.stop());
    sender.start();
    await refusing.waitFor(2);
    sender.stop();
    // An edge that answers and refuses is a misconfiguration: warned at once.
    expect(warnings).toEqual(["heartbeat to the edge failed"]);
    const count = refusing.received.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(refusing.received.length).toBe(count);
    await refusing.close();
  });
});
