import { join } from "node:path";
import { z } from "zod";
import { canListen, REPO_ROOT, startLocalStack } from "./local-stack/local-stack.js";

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** `npm start`: ports and the data dir can be moved with env vars; the defaults need none. */
const StartOptionsSchema = z.object({
  MODELGATE_DATA_DIR: z.string().default(join(REPO_ROOT, ".modelgate")),
  MODELGATE_EDGE_PORT: port(8787),
  MODELGATE_WORKER_PORT: port(8790),
  MODELGATE_S3_PORT: port(9000),
  MODELGATE_VERBOSE: z.enum(["0", "1"]).default("0"),
});

async function main(): Promise<void> {
  const parsed = StartOptionsSchema.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`modelgate: ${issue.path.join(".")}: ${issue.message}`);
    process.exit(2);
  }
  const options = parsed.data;
  // A port in use (most often another `npm start`) is named up front, not as a crash mid-start.
  const ports = [
    ["MODELGATE_S3_PORT", options.MODELGATE_S3_PORT],
    ["MODELGATE_EDGE_PORT", options.MODELGATE_EDGE_PORT],
    ["MODELGATE_WORKER_PORT", options.MODELGATE_WORKER_PORT],
  ] as const;
  for (const [variable, port] of ports) {
    if (!(await canListen(port))) {
      console.error(
        `modelgate: port ${port} on 127.0.0.1 is in use (is another npm start running?); stop it or set ${variable} to a free port`,
      );
      process.exit(2);
    }
  }
  const startedAt = Date.now();
  const verbose = options.MODELGATE_VERBOSE === "1";
  const stack = await startLocalStack({
    dataDir: options.MODELGATE_DATA_DIR,
    edgePort: options.MODELGATE_EDGE_PORT,
    workerPort: options.MODELGATE_WORKER_PORT,
    s3Port: options.MODELGATE_S3_PORT,
    log: (line) => console.log(`modelgate: ${line}`),
    childOutput: (source, line) => {
      // Warnings and errors always show; the rest only with MODELGATE_VERBOSE=1.
      if (verbose || /\b(error|warn|fatal)\b/i.test(line)) console.log(`[${source}] ${line}`);
    },
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\nmodelgate: ${signal}: stopping the worker, the edge and s3rver…`);
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  for (const model of stack.seeded) {
    const state = model.created ? "registered and promoted" : "already in Production";
    console.log(`modelgate: ${model.name}@${model.version} ${state} (sha256 ${model.sha256.slice(0, 12)}…)`);
  }
  const keyFile = join(options.MODELGATE_DATA_DIR, "admin-key");
  console.log(`modelgate: started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; admin key in ${keyFile}`);
  console.log(`modelgate ready: ${stack.edgeUrl}`);
  console.log(`modelgate console: ${stack.edgeUrl}/console (sign in with the admin key from ${keyFile})`);
  console.log(`
Try it:
  curl -s ${stack.edgeUrl}/v1/generate \\
    -H "authorization: Bearer $(cat ${keyFile})" -H "content-type: application/json" \\
    -d '{"model":"demo-lm","prompt":"hello","max_new_tokens":16}'
  curl -s ${stack.edgeUrl}/v1/predict \\
    -H "authorization: Bearer $(cat ${keyFile})" -H "content-type: application/json" \\
    -d '{"model":"spirals","data":[[0.5,0.3]]}'
Metrics (Prometheus text format):
  curl -s ${stack.workerUrl}/metrics
  curl -s ${stack.edgeUrl}/metrics -H "authorization: Bearer $(cat ${keyFile})"
  prometheus --config.file=${stack.prometheusConfigPath}    # scrapes both, loads the alert rules
Press Ctrl-C to stop.`);
}

main().catch((error: unknown) => {
  console.error(`modelgate: failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
