import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type EdgeDevServer, startEdgeDevServer } from "./edge-dev-server.js";
import { type GpuWorkerProcess, startGpuWorkerProcess } from "./gpu-worker-process.js";

export type { GpuWorkerProcess } from "./gpu-worker-process.js";

import { writeFile } from "node:fs/promises";
import { buildReferenceModels } from "@modelgate/gpu-worker/reference-models/index";
import { mintEnrolmentToken, randomHex } from "@modelgate/shared";
import { prometheusConfig } from "../prometheus/scrape-config.js";
import { type LocalS3Server, startLocalS3Server } from "./local-s3-server.js";
import { loadOrCreateLocalSecrets } from "./local-secrets.js";
import { type SeededModel, seedDemoModels } from "./seed-demo-models.js";

export const REPO_ROOT = resolve(fileURLToPath(new URL("../../..", import.meta.url)));

export interface LocalStackOptions {
  /** Where everything persists (secrets, S3 objects, R2/DO state, artifact cache). */
  dataDir: string;
  edgePort: number;
  workerPort: number;
  s3Port: number;
  bucket?: string;
  gpuMonitorIntervalMs?: number;
  /** Progress lines ("starting s3rver…"), and each child's output prefixed with its name. */
  log?: (line: string) => void;
  childOutput?: (source: "edge" | "worker", line: string) => void;
  /** Extra edge variables, e.g. `MODELGATE_CIRCUIT_COOLDOWN_MS` for a resilience test. */
  edgeVars?: Record<string, string>;
  /** Extra worker variables, e.g. `MODELGATE_CONVERSION_POLL_MS` so a test need not wait 2 s for a job. */
  workerEnv?: Record<string, string>;
}

export interface LocalStack {
  edgeUrl: string;
  workerUrl: string;
  s3Endpoint: string;
  adminKey: string;
  signingSecret: string;
  /** The shared worker token: generated, but the stack's edge runs with legacy mode off (workers enrol). */
  workerToken: string;
  /** Opens the edge's GET /metrics; also in `<dataDir>/metrics-token`. */
  metricsToken: string;
  /** A Prometheus configuration that scrapes this stack and loads the alert rules. */
  prometheusConfigPath: string;
  workerId: string;
  seeded: SeededModel[];
  /** The stack's own GPU worker process (for crash tests: `kill()`). */
  worker: GpuWorkerProcess;
  /**
   * Starts one more GPU worker against this stack (same S3 and edge), as a second box would: it
   * enrols itself with a fresh one-time token (re-enrolling, so rotating, a worker id seen before).
   */
  startExtraWorker(workerId: string, port: number): Promise<GpuWorkerProcess>;
  stop(): Promise<void>;
}

/**
 * Ports below the OS's ephemeral range (32768 and up on Linux): a port the OS hands out for
 * `listen(0)` is released again at once, and workerd, miniflare and Prometheus bind ports of
 * their own from that range, so a port chosen there could be taken before the stack binds it.
 */
const CHOSEN_PORTS = { min: 20_000, max: 32_000 };
const handedOut = new Set<number>();

/** Whether nothing listens on the loopback port (a second `npm start` would collide). */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free loopback port (for tests that must not collide with `npm start` or each other). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = CHOSEN_PORTS.min + Math.floor(Math.random() * (CHOSEN_PORTS.max - CHOSEN_PORTS.min));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${CHOSEN_PORTS.min} and ${CHOSEN_PORTS.max}`);
}

/** Free ports for a whole stack, for tests and benchmarks that run beside `npm start`. */
export async function freeStackPorts(): Promise<Pick<LocalStackOptions, "edgePort" | "workerPort" | "s3Port">> {
  return { edgePort: await freePort(), workerPort: await freePort(), s3Port: await freePort() };
}

/**
 * A worker boots tsx and ONNX Runtime before its first heartbeat: seconds on an idle machine, but
 * CI runs the edge and worker test projects beside the full-stack tests on two cores.
 */
const WORKER_START_TIMEOUT_MS = 90_000;

async function waitForLiveWorker(
  edgeUrl: string,
  adminKey: string,
  workerId: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await fetch(`${edgeUrl}/v1/workers`, { headers: { authorization: `Bearer ${adminKey}` } });
    if (response.ok) {
      const { workers } = (await response.json()) as {
        workers: Array<{ heartbeat: { worker_id: string }; live: boolean }>;
      };
      if (workers.some((w) => w.heartbeat.worker_id === workerId && w.live)) return;
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`worker ${workerId} did not reach the edge with a heartbeat within ${timeoutMs} ms`);
}

/**
 * The whole stack on one machine: s3rver, `wrangler dev` (local R2 + Durable Objects) and one
 * CPU GPU-worker, with the demo models seeded through the real registration path. Anything
 * started before a failure is stopped again, so a failed start leaves no processes behind.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => {});
  const bucket = options.bucket ?? "modelgate-models";
  const stoppers: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    stoppers.length = 0;
  };
  try {
    const secrets = await loadOrCreateLocalSecrets(options.dataDir);
    log(`starting s3rver on 127.0.0.1:${options.s3Port}`);
    const s3: LocalS3Server = await startLocalS3Server({
      directory: join(options.dataDir, "s3"),
      port: options.s3Port,
      bucket,
    });
    stoppers.push(s3.stop);
    log(`starting the edge (wrangler dev) on 127.0.0.1:${options.edgePort}`);
    // The edge and the worker boot side by side (the worker's first heartbeats retry within a
    // moment until the edge answers); the demo models are built while both start.
    const edgeUrl = `http://127.0.0.1:${options.edgePort}`;
    const edgeStarting: Promise<EdgeDevServer> = startEdgeDevServer({
      repoRoot: REPO_ROOT,
      dataDir: options.dataDir,
      port: options.edgePort,
      secrets,
      ...(options.edgeVars ? { vars: options.edgeVars } : {}),
      s3: {
        endpoint: s3.endpoint,
        bucket,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      },
      onOutput: (line) => options.childOutput?.("edge", line),
    });
    const workerId = "local-cpu-0";
    const startWorker = async (id: string, port: number) => {
      log(`starting GPU worker ${id} on 127.0.0.1:${port}`);
      // What `modelgate workers enroll` would issue, minted here with the stack's own admin key so the
      // worker can boot beside the edge (it exchanges the token once the edge answers).
      const enrolmentToken = await mintEnrolmentToken(secrets.adminKey, {
        worker_id: id,
        url_pattern: `http://127.0.0.1:${port}`,
        labels: {},
        expires_at: new Date(Date.now() + 3600_000).toISOString(),
        nonce: randomHex(16),
      });
      return startGpuWorkerProcess({
        repoRoot: REPO_ROOT,
        port,
        workerId: id,
        onOutput: (line) => options.childOutput?.("worker", line),
        env: {
          MODELGATE_EDGE_URL: edgeUrl,
          MODELGATE_ENROLMENT_TOKEN: enrolmentToken,
          MODELGATE_CREDENTIAL_FILE: join(options.dataDir, "credentials", id),
          MODELGATE_SIGNING_SECRET: secrets.signingSecret,
          // Teardown drains too; a short quiet period keeps stopping a test stack quick.
          MODELGATE_DRAIN_QUIET_MS: "500",
          MODELGATE_WORKER_URL: `http://127.0.0.1:${port}`,
          // Each worker keeps its own artifact cache, as separate boxes would.
          MODELGATE_CACHE_DIR: join(options.dataDir, id === workerId ? "cache" : `cache-${id}`),
          HOST: "127.0.0.1",
          S3_ENDPOINT: s3.endpoint,
          S3_BUCKET: bucket,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          GPU_MONITOR_INTERVAL_MS: String(options.gpuMonitorIntervalMs ?? 5000),
          ...options.workerEnv,
        },
      });
    };
    const workerStarting = startWorker(workerId, options.workerPort);
    const models = buildReferenceModels();
    const [edgeStarted, workerStarted] = await Promise.allSettled([edgeStarting, workerStarting]);
    // Stopped in reverse: the worker before the edge, the edge before s3rver.
    if (edgeStarted.status === "fulfilled") stoppers.push(edgeStarted.value.stop);
    if (workerStarted.status === "fulfilled") stoppers.push(workerStarted.value.stop);
    if (edgeStarted.status === "rejected") throw edgeStarted.reason;
    if (workerStarted.status === "rejected") throw workerStarted.reason;
    const edge = edgeStarted.value;
    const worker = workerStarted.value;
    await waitForLiveWorker(edge.url, secrets.adminKey, workerId, WORKER_START_TIMEOUT_MS);
    log("seeding demo models (upload → register → promote)");
    const seeded = await seedDemoModels({ edgeUrl: edge.url, adminKey: secrets.adminKey, models });
    const prometheusConfigPath = join(options.dataDir, "prometheus.yml");
    await writeFile(
      prometheusConfigPath,
      prometheusConfig({
        edgeUrl: edge.url,
        workerUrls: [worker.url],
        edgeTokenFile: join(options.dataDir, "metrics-token"),
        ruleFiles: [join(REPO_ROOT, "infra", "prometheus", "alerts.yml")],
        scrapeIntervalSeconds: 5,
      }),
    );
    return {
      edgeUrl: edge.url,
      workerUrl: worker.url,
      s3Endpoint: s3.endpoint,
      adminKey: secrets.adminKey,
      signingSecret: secrets.signingSecret,
      workerToken: secrets.workerToken,
      metricsToken: secrets.metricsToken,
      prometheusConfigPath,
      workerId,
      seeded,
      worker,
      async startExtraWorker(id, port) {
        const extra = await startWorker(id, port);
        stoppers.push(extra.stop);
        await waitForLiveWorker(edge.url, secrets.adminKey, id, WORKER_START_TIMEOUT_MS);
        return extra;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
