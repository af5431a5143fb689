import {
  describePlacement,
  type ModelVersion,
  type Placement,
  PlacementSchema,
  type ReplicaTestReport,
  validationError,
  WorkerIdSchema,
} from "@modelgate/shared";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { collectPairs, integerInRange, parseNameAndRef, parseNameAndVersion } from "../arguments.js";
import { UsageError } from "../cli-errors.js";
import { EdgeProblemError } from "../edge-errors.js";
import { EXIT_CODES } from "../exit-codes.js";
import { formatTable, NONE } from "../output.js";
import type { CliSession } from "../session.js";
import { warmOnLine } from "./workers.js";

/** Read-modify-write rounds `models deploy` makes when other edits keep landing in between. */
const DEPLOY_ATTEMPTS = 3;

interface DeployOptions {
  replicas?: number;
  label?: Record<string, string>;
  pin?: string[];
  anyWorker?: boolean;
  undeploy?: boolean;
  reason?: string;
}

function parseWorkerId(value: string, previous: string[] | undefined): string[] {
  const parsed = WorkerIdSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? "not a worker id");
  return [...(previous ?? []), parsed.data];
}

/** The placement after the flags: each flag replaces its part, the rest stays as it is. */
export function placementAfter(current: Placement | undefined, options: DeployOptions): Placement | undefined {
  if (options.undeploy) return undefined;
  const next: Placement = { ...(current ?? {}) };
  if (options.anyWorker) {
    delete next.worker_labels;
    delete next.pinned_workers;
  }
  if (options.replicas !== undefined) next.min_replicas = options.replicas;
  if (options.label !== undefined) next.worker_labels = options.label;
  if (options.pin !== undefined) next.pinned_workers = options.pin;
  return next;
}

function formatReplicaTests(report: ReplicaTestReport): string {
  const rows = report.results.map((r) => [
    r.worker_id,
    r.ok ? "ok" : "FAILED",
    r.status === null ? NONE : String(r.status),
    `${Math.round(r.latency_ms)} ms`,
    r.warm ? "warm" : "cold",
    r.error ?? "",
  ]);
  const failed = report.results.filter((r) => !r.ok).length;
  const summary = `${report.model}@${report.version} (placement: ${report.placement}): ${
    report.results.length - failed
  }/${report.results.length} replica(s) ok`;
  return `${formatTable(["WORKER", "RESULT", "STATUS", "LATENCY", "CACHE", "ERROR"], rows)}\n${summary}`;
}

/**
 * `models deploy|test` (seed 003's "deploy to backends", issue 17): where a version may run and
 * how many workers keep it warm, through the registry's metadata edit (so each change is a
 * metadata revision with its reason), and a smoke request on every replica.
 */
export function registerDeployCommands(models: Command, session: CliSession): void {
  models
    .command("deploy")
    .description("set where a version runs: warm replicas, worker labels, pinned workers (a metadata revision)")
    .argument("<name@version>", "the version, by number (e.g. demo-lm@3)", parseNameAndVersion)
    .option("--replicas <n>", "how many matching workers keep it loaded (min_replicas)", integerInRange(0, 256))
    .option(
      "--label <name=value>",
      "only workers enrolled with this label (repeatable; all must match)",
      collectPairs("--label name=value"),
    )
    .option("--pin <worker-id>", "only these workers (repeatable)", parseWorkerId)
    .option("--any-worker", "drop the labels and pins: any worker may serve it")
    .option("--undeploy", "remove the placement altogether")
    .option("--reason <text>", "why, kept in the model's history")
    .option("--json", "print the edge's JSON response (the version)")
    .action(async (target: { name: string; version: number | undefined }, options: DeployOptions, command: Command) => {
      if (target.version === undefined) {
        throw new UsageError(
          `deploy needs a version number: ${target.name}@<N>.`,
          "e.g. modelgate models deploy demo-lm@3 --replicas 2",
        );
      }
      const changes = [options.replicas, options.label, options.pin, options.anyWorker, options.undeploy];
      if (changes.every((change) => change === undefined)) {
        throw new UsageError("Nothing to change.", "pass --replicas, --label, --pin, --any-worker or --undeploy");
      }
      const client = await session.client(command);
      const { name, version } = target;
      // `serving` is written whole, so the write is conditional on the revision read: an edit to
      // another part of `serving` (batching, say) that lands in between is read and kept, not lost.
      const deploy = async (): Promise<ModelVersion> => {
        const current = await client.getVersion(name, version);
        const placement = placementAfter(current.serving?.placement, options);
        if (placement !== undefined) {
          const parsed = PlacementSchema.safeParse(placement);
          if (!parsed.success) throw validationError(parsed.error, "placement", "serving.placement");
        }
        const { placement: _old, ...otherServing } = current.serving ?? {};
        const serving = placement === undefined ? otherServing : { ...otherServing, placement };
        return client.patchMetadata(name, version, {
          serving: Object.keys(serving).length === 0 ? null : serving,
          expected_metadata_revision: current.metadata_revision,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
        });
      };
      let updated: ModelVersion | undefined;
      for (let attempt = 1; updated === undefined; attempt++) {
        try {
          updated = await deploy();
        } catch (error) {
          const raced = error instanceof EdgeProblemError && error.problem.status === 409;
          if (!raced || attempt >= DEPLOY_ATTEMPTS) throw error;
        }
      }
      const warm = session.json ? undefined : await warmOnLine(client, updated);
      session.emit(updated, (v) => {
        const lines = [
          `${v.name}@${v.version} placement: ${v.serving?.placement ? describePlacement(v.serving.placement) : "none (any worker, loaded on demand)"}`,
          `(metadata revision ${v.metadata_revision}; matching workers preload it within one heartbeat)`,
        ];
        if (warm !== undefined) lines.push(warm);
        return lines.join("\n");
      });
    });

  models
    .command("test")
    .description("run a smoke generation or prediction on every live replica of a version and report each (admin)")
    .argument("<name@version>", "the version: a number, latest, production, staging or an alias", parseNameAndRef)
    .option("--json", "print the edge's JSON report")
    .action(async (target: { name: string; ref: string | undefined }, _options: object, command: Command) => {
      const client = await session.client(command);
      session.note(`testing every live replica of ${target.name}@${target.ref ?? "production"}…`);
      const report = await client.testReplicas(target.name, target.ref ?? "production");
      session.emit(report, formatReplicaTests);
      // The report is complete either way; a broken replica is still a failed test for scripts.
      if (!report.ok) session.exitCode = EXIT_CODES.unavailable;
    });
}
