import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildConsole } from "@modelgate/edge/console/build-console";
import { wranglerEntry, wranglerEnvironment } from "../tools/wrangler-command.js";
import { captureChildOutput } from "./child-output.js";
import type { LocalSecrets } from "./local-secrets.js";

export interface EdgeDevServer {
  url: string;
  stop(): Promise<void>;
}

export interface EdgeDevServerOptions {
  repoRoot: string;
  dataDir: string;
  port: number;
  secrets: LocalSecrets;
  /** Extra edge variables (`[vars]` overrides), e.g. circuit-breaker settings for a test. */
  vars?: Record<string, string>;
  /** Object storage for artifacts (uploads, registration checks); without it those routes answer 503. */
  s3?: EdgeS3Settings;
  /** Called with each line wrangler prints, for logs; silent by default. */
  onOutput?: (line: string) => void;
  readyTimeoutMs?: number;
}

export interface EdgeS3Settings {
  endpoint: string;
  /** Where clients reach S3 in presigned URLs, when not at `endpoint`. */
  publicEndpoint?: string;
  bucket: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Upload tuning (MODELGATE_UPLOAD_*); the edge's defaults when absent. */
  multipartThresholdBytes?: number;
  partBytes?: number;
}

/** The env-file lines for the S3 settings (values are single-line by construction; checked anyway). */
function s3EnvLines(s3: EdgeS3Settings | undefined): string[] {
  if (!s3) return [];
  const entries: Array<[string, string | number | undefined]> = [
    ["MODELGATE_S3_ENDPOINT", s3.endpoint],
    ["MODELGATE_S3_PUBLIC_ENDPOINT", s3.publicEndpoint],
    ["MODELGATE_S3_BUCKET", s3.bucket],
    ["MODELGATE_S3_REGION", s3.region],
    ["MODELGATE_S3_ACCESS_KEY_ID", s3.accessKeyId],
    ["MODELGATE_S3_SECRET_ACCESS_KEY", s3.secretAccessKey],
    ["MODELGATE_UPLOAD_MULTIPART_THRESHOLD_BYTES", s3.multipartThresholdBytes],
    ["MODELGATE_UPLOAD_PART_BYTES", s3.partBytes],
  ];
  return entries.flatMap(([name, value]) => {
    if (value === undefined) return [];
    if (/[\r\n]/.test(String(value))) throw new Error(`${name} must be a single line`);
    return [`${name}=${value}`];
  });
}

/**
 * `wrangler dev` fully offline: local R2 and Durable Objects persisted under the data dir,
 * secrets from an env file (mode 600) rather than the command line, where `ps` would show them.
 */
export async function startEdgeDevServer(options: EdgeDevServerOptions): Promise<EdgeDevServer> {
  const envFile = join(options.dataDir, "edge.env");
  const { adminKey, workerToken, signingSecret, metricsToken } = options.secrets;
  const lines = [
    `MODELGATE_ADMIN_KEY=${adminKey}`,
    `MODELGATE_WORKER_TOKEN=${workerToken}`,
    `MODELGATE_SIGNING_SECRET=${signingSecret}`,
    `MODELGATE_METRICS_TOKEN=${metricsToken}`,
    ...s3EnvLines(options.s3),
    ...Object.entries(options.vars ?? {}).map(([name, value]) => `${name}=${value}`),
  ];
  await writeFile(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });
  // wrangler dev serves the console from its built files ([assets] in wrangler.toml).
  await buildConsole();
  const args = [
    wranglerEntry(),
    "dev",
    "--config",
    join(options.repoRoot, "wrangler.toml"),
    "--ip",
    "127.0.0.1",
    "--port",
    String(options.port),
    "--persist-to",
    join(options.dataDir, "wrangler"),
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    // Port 0: the OS picks the devtools inspector's port. Left to wrangler, two stacks started at
    // the same moment (npm test runs the CLI's and an e2e file's side by side) both probe 9229,
    // both find it free, and the second dies with "Address already in use".
    "--inspector-port",
    "0",
    // info: the edge's own JSON log lines (console.info) reach the output, as in production.
    "--log-level",
    "info",
  ];
  const child = spawn(process.execPath, args, {
    cwd: options.repoRoot,
    // Own process group, so stopping it also stops the workerd it starts.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: wranglerEnvironment(),
  });
  const recent = captureChildOutput(child, options.onOutput);
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () => stopProcessGroup(child);
  try {
    await waitForHealth(`${url}/health`, child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n--- wrangler output ---\n${recent.join("\n")}`);
  }
  return { url, stop };
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the edge did not answer ${url} within ${timeoutMs} ms`);
}

export async function stopProcessGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  signalGroup("SIGTERM");
  const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler by a moment; make sure nothing of the group is left.
  signalGroup("SIGKILL");
}
