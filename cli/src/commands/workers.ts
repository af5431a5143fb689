import { type EnrolmentIssued, ModelgateError, type WorkerListEntry } from "@modelgate/shared";
import type { Command } from "commander";
import { collectPairs, integerInRange } from "../arguments.js";
import type { EdgeClient, WorkerControlAnswer } from "../edge-client.js";
import { EdgeProblemError } from "../edge-errors.js";
import { formatAge, formatTable, NONE } from "../output.js";
import type { CliSession } from "../session.js";

/** One line per worker: enough to see why routing would or would not pick it. */
function workerRow({ heartbeat, live, age_ms, drain_state, identity }: WorkerListEntry): string[] {
  const { gpus } = heartbeat;
  const devices = [...new Set(gpus.map((gpu) => gpu.device))].join("+");
  const utilizations = gpus.flatMap((gpu) => (gpu.utilization_gpu_pct === null ? [] : [gpu.utilization_gpu_pct]));
  const used = gpus.flatMap((gpu) => (gpu.memory_used_mb === null ? [] : [gpu.memory_used_mb]));
  const total = gpus.flatMap((gpu) => (gpu.memory_total_mb === null ? [] : [gpu.memory_total_mb]));
  const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0));
  const models = heartbeat.loaded_models.map((m) => `${m.name}@${m.version}`).join(",");
  const labels = Object.entries(identity?.labels ?? {}).map(([name, value]) => `${name}=${value}`);
  return [
    heartbeat.worker_id,
    live ? "yes" : "no",
    drain_state ?? "serving",
    identity ? (identity.revoked_at ? "revoked" : "enrolled") : "legacy",
    labels.join(",") || NONE,
    formatAge(age_ms),
    `${gpus.length}x ${devices}`,
    // The busiest GPU is what a new request would queue behind; readings can be missing.
    utilizations.length > 0 ? `${Math.max(...utilizations)}%` : NONE,
    used.length > 0 && total.length > 0 ? `${sum(used)}/${sum(total)} MB` : NONE,
    String(heartbeat.queue_depth),
    String(heartbeat.in_flight),
    heartbeat.tokens_per_second.toFixed(1),
    models || NONE,
    heartbeat.url,
  ];
}

export function formatWorkerList(workers: readonly WorkerListEntry[]): string {
  if (workers.length === 0) {
    return "No workers have sent a heartbeat. Start the local stack with `npm start`, or start a gpu-worker.";
  }
  return formatTable(
    [
      "WORKER",
      "LIVE",
      "STATE",
      "IDENTITY",
      "LABELS",
      "AGE",
      "GPUS",
      "UTIL",
      "MEMORY",
      "QUEUE",
      "RUNNING",
      "TOK/S",
      "MODELS",
      "URL",
    ],
    workers.map(workerRow),
  );
}

/**
 * `Warm on: gpu-a, gpu-b (cordoned)`: the workers holding this exact version loaded, for
 * `models info name@N` (and `— 1 of min_replicas 2 warm` under a placement). Undefined when the key may not see the fleet (it is admin-only).
 */
export async function warmOnLine(
  client: EdgeClient,
  version: {
    name: string;
    version: number;
    artifact: { sha256: string };
    serving?: { placement?: { min_replicas?: number | undefined } | undefined } | undefined;
  },
): Promise<string | undefined> {
  let fleet: WorkerListEntry[];
  try {
    fleet = await client.listWorkers();
  } catch (error) {
    if (error instanceof EdgeProblemError && error.problem.status === 403) return undefined;
    throw error;
  }
  const warm = fleet.filter(
    (w) =>
      w.live &&
      w.heartbeat.loaded_models.some(
        (m) => m.name === version.name && m.version === version.version && m.sha256 === version.artifact.sha256,
      ),
  );
  const names = warm.map((w) =>
    w.drain_state === undefined || w.drain_state === "serving"
      ? w.heartbeat.worker_id
      : `${w.heartbeat.worker_id} (${w.drain_state})`,
  );
  const line = `Warm on: ${names.length > 0 ? names.join(", ") : "no live worker (loaded at the first request)"}`;
  // With placement's warm replicas, how far the fleet has got (workers preload within a heartbeat).
  const wanted = version.serving?.placement?.min_replicas ?? 0;
  return wanted > 0 ? `${line} — ${names.length} of min_replicas ${wanted} warm` : line;
}

function formatEnrolment(issued: EnrolmentIssued): string {
  return [
    `enrolment token for ${issued.worker_id} (one use, until ${issued.expires_at}):`,
    issued.enrolment_token,
    `Start the worker with MODELGATE_WORKER_ID=${issued.worker_id} MODELGATE_ENROLMENT_TOKEN=<the token>;`,
    `it may announce URLs matching ${issued.url_pattern}.`,
  ].join("\n");
}

function formatControl(answer: WorkerControlAnswer): string {
  return `${answer.worker_id}: ${answer.drain_state}`;
}

interface DrainOptions {
  timeout: number;
  wait: boolean;
  pollMs: number;
  json?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `modelgate workers list|enroll|revoke|cordon|uncordon|drain`: the fleet (admin scope). */
export function registerWorkerCommands(program: Command, session: CliSession): void {
  const workers = program.command("workers").description("the GPU workers the edge routes to (admin scope)");
  workers
    .command("list")
    .description("list workers with liveness, GPU load, queue and loaded models")
    .option("--json", "print the raw JSON response")
    .action(async (_options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.listWorkers(), (list) => formatWorkerList(list));
    });
  workers
    .command("enroll <id>")
    .description("issue a one-time enrolment token; the worker exchanges it for its own credential")
    .option("--url-pattern <pattern>", "URLs it may announce, * for any run of non-/ characters", "*")
    .option("--label <name=value>", "a label such as gpu=h100 (repeatable)", collectPairs("a label name=value"))
    .option("--ttl <seconds>", "how long the token may wait to be used", integerInRange(60, 7 * 24 * 3600), 86_400)
    .option("--json", "print the raw JSON response")
    .action(
      async (
        id: string,
        options: { urlPattern: string; label?: Record<string, string>; ttl: number },
        command: Command,
      ) => {
        const client = await session.client(command);
        const issued = await client.enrolWorker(id, {
          url_pattern: options.urlPattern,
          labels: options.label ?? {},
          ttl_seconds: options.ttl,
        });
        session.emit(issued, formatEnrolment);
      },
    );
  workers
    .command("revoke <id>")
    .description("revoke a worker's credential: its heartbeats and job calls are refused, it leaves routing")
    .option("--json", "print the raw JSON response")
    .action(async (id: string, _options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.revokeWorker(id), (r) => `revoked ${r.worker_id} at ${r.identity.revoked_at ?? NONE}`);
    });
  for (const [verb, description] of [
    ["cordon", "take no new requests or conversion jobs; what runs finishes"],
    ["uncordon", "take new work again (cancels a drain)"],
  ] as const) {
    workers
      .command(`${verb} <id>`)
      .description(description)
      .option("--json", "print the raw JSON response")
      .action(async (id: string, _options: { json?: boolean }, command: Command) => {
        const client = await session.client(command);
        session.emit(await client.controlWorker(id, verb), formatControl);
      });
  }
  workers
    .command("drain <id>")
    .description("cordon, then wait until generations and conversion leases in flight are done")
    .option("--timeout <seconds>", "how long the drain may wait for work in flight", integerInRange(1, 86_400), 300)
    .option("--no-wait", "ask for the drain and print its state without waiting")
    .option("--poll-ms <ms>", "how often to check", integerInRange(100, 60_000), 1000)
    .option("--json", "print the final state as JSON")
    .action(async (id: string, options: DrainOptions, command: Command) => {
      const client = await session.client(command);
      let answer = await client.controlWorker(id, "drain", options.timeout);
      session.note(`draining ${id} (at most ${options.timeout} s)`);
      let last = "";
      while (options.wait && answer.drain_state === "draining") {
        await sleep(options.pollMs);
        const entry = (await client.listWorkers()).find((w) => w.heartbeat.worker_id === id);
        if (!entry) throw new ModelgateError("not_found", `Worker ${id} left the fleet while draining.`);
        answer = {
          worker_id: id,
          control: entry.control ?? answer.control,
          drain_state: entry.drain_state ?? "draining",
        };
        const line = `${id}: ${entry.heartbeat.in_flight} generation(s), ${entry.heartbeat.conversion_jobs ?? 0} conversion job(s) in flight`;
        if (line !== last) session.note(line);
        last = line;
      }
      session.emit(answer, formatControl);
      if (answer.drain_state === "drain_timed_out") {
        throw new ModelgateError("upstream_timeout", `Worker ${id} still had work in flight when the drain timed out.`);
      }
    });
}
