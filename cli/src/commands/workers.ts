import type { WorkerListEntry } from "@modelgate/shared";
import type { Command } from "commander";
import { formatAge, formatTable, NONE } from "../output.js";
import type { CliSession } from "../session.js";

/** One line per worker: enough to see why routing would or would not pick it. */
function workerRow({ heartbeat, live, age_ms }: WorkerListEntry): string[] {
  const { gpus } = heartbeat;
  const devices = [...new Set(gpus.map((gpu) => gpu.device))].join("+");
  const utilizations = gpus.flatMap((gpu) => (gpu.utilization_gpu_pct === null ? [] : [gpu.utilization_gpu_pct]));
  const used = gpus.flatMap((gpu) => (gpu.memory_used_mb === null ? [] : [gpu.memory_used_mb]));
  const total = gpus.flatMap((gpu) => (gpu.memory_total_mb === null ? [] : [gpu.memory_total_mb]));
  const sum = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0));
  const models = heartbeat.loaded_models.map((m) => `${m.name}@${m.version}`).join(",");
  return [
    heartbeat.worker_id,
    live ? "yes" : "no",
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
    ["WORKER", "LIVE", "AGE", "GPUS", "UTIL", "MEMORY", "QUEUE", "RUNNING", "TOK/S", "MODELS", "URL"],
    workers.map(workerRow),
  );
}

/** `modelgate workers list`: the edge's view of the fleet (admin scope). */
export function registerWorkerCommands(program: Command, session: CliSession): void {
  const workers = program.command("workers").description("the GPU workers the edge routes to");
  workers
    .command("list")
    .description("list workers with liveness, GPU load, queue and loaded models")
    .option("--json", "print the raw JSON response")
    .action(async (_options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.listWorkers(), (list) => formatWorkerList(list));
    });
}
