import { DurableObject } from "cloudflare:workers";
import {
  applySelectionFlagsPatch,
  DEFAULT_SELECTION_FLAGS,
  type SelectionFlags,
  type SelectionFlagsPatch,
  SelectionFlagsSchema,
  type WorkerHeartbeat,
  type WorkerState,
  WorkerStateSchema,
} from "@modelgate/shared";
import { type EdgeBindings, EdgeConfigSchema } from "../env.js";
import {
  admitForward,
  type CircuitPosition,
  type CircuitSettings,
  type CircuitState,
  CLOSED_CIRCUIT,
  circuitPosition,
  DEFAULT_CIRCUIT_SETTINGS,
  recordForwardOutcome,
} from "./circuit-breaker.js";

/** What routing needs per worker besides its heartbeat. */
export interface WorkerCircuit {
  position: CircuitPosition;
  consecutiveFailures: number;
}

const WORKER_KEY_PREFIX = "worker:";
const SELECTION_FLAGS_KEY = "selection-flags";
/** Workers silent this long are forgotten entirely (they are excluded from routing long before). */
const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The live view of the GPU fleet: one instance ("global") receives every heartbeat, so
 * routing decisions in any isolate see the same workers. State survives restarts in the
 * object's storage and is mirrored in memory for fast reads.
 */
export class WorkerPool extends DurableObject<EdgeBindings> {
  private readonly workers = new Map<string, WorkerState>();
  /**
   * Circuit breakers by worker id, in memory: a restarted pool starts every circuit closed,
   * which at worst lets a failing worker fail a few more forwards before it opens again.
   */
  private readonly circuits = new Map<string, CircuitState>();
  private readonly circuitSettings: CircuitSettings;
  /** Seed 002's rollback switches, read by every routing decision; changed at runtime by an admin. */
  private selectionFlags: SelectionFlags = DEFAULT_SELECTION_FLAGS;

  constructor(ctx: DurableObjectState, env: EdgeBindings) {
    super(ctx, env);
    this.circuitSettings = circuitSettingsFrom(env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.list<unknown>({ prefix: WORKER_KEY_PREFIX });
      for (const value of stored.values()) {
        const parsed = WorkerStateSchema.safeParse(value);
        if (parsed.success) this.workers.set(parsed.data.heartbeat.worker_id, parsed.data);
      }
      const flags = SelectionFlagsSchema.safeParse(await ctx.storage.get(SELECTION_FLAGS_KEY));
      if (flags.success) this.selectionFlags = flags.data;
    });
  }

  async recordHeartbeat(
    heartbeat: WorkerHeartbeat,
    receivedAt: string = new Date().toISOString(),
  ): Promise<WorkerState> {
    const state: WorkerState = { heartbeat, received_at: receivedAt };
    this.workers.set(heartbeat.worker_id, state);
    await this.ctx.storage.put(WORKER_KEY_PREFIX + heartbeat.worker_id, state);
    await this.forgetLongSilentWorkers(Date.parse(receivedAt));
    return state;
  }

  async listWorkers(): Promise<WorkerState[]> {
    return [...this.workers.values()].sort((a, b) => a.heartbeat.worker_id.localeCompare(b.heartbeat.worker_id));
  }

  async getSelectionFlags(): Promise<SelectionFlags> {
    return this.selectionFlags;
  }

  async setSelectionFlags(patch: SelectionFlagsPatch): Promise<SelectionFlags> {
    this.selectionFlags = applySelectionFlagsPatch(this.selectionFlags, patch);
    await this.ctx.storage.put(SELECTION_FLAGS_KEY, this.selectionFlags);
    return this.selectionFlags;
  }

  /** The fleet as routing sees it: heartbeats, each worker's circuit, and the selection flags. */
  async routingView(now: number = Date.now()): Promise<{
    workers: WorkerState[];
    circuits: Record<string, WorkerCircuit>;
    flags: SelectionFlags;
  }> {
    const circuits: Record<string, WorkerCircuit> = {};
    for (const id of this.workers.keys()) {
      const state = this.circuits.get(id) ?? CLOSED_CIRCUIT;
      circuits[id] = {
        position: circuitPosition(state, now, this.circuitSettings),
        consecutiveFailures: state.consecutiveFailures,
      };
    }
    return { workers: await this.listWorkers(), circuits, flags: this.selectionFlags };
  }

  /** Claims the half-open probe for a worker (always true while its circuit is closed). */
  async admitForward(workerId: string, now: number = Date.now()): Promise<boolean> {
    const { admitted, state } = admitForward(this.circuits.get(workerId) ?? CLOSED_CIRCUIT, now, this.circuitSettings);
    if (admitted) this.circuits.set(workerId, state);
    return admitted;
  }

  /** One forward's outcome: a connect error, timeout or 5xx is a failure; any other answer a success. */
  async recordForwardOutcome(workerId: string, succeeded: boolean, now: number = Date.now()): Promise<void> {
    const state = this.circuits.get(workerId) ?? CLOSED_CIRCUIT;
    this.circuits.set(workerId, recordForwardOutcome(state, succeeded, now, this.circuitSettings));
  }

  private async forgetLongSilentWorkers(now: number): Promise<void> {
    const forgotten: string[] = [];
    for (const [id, state] of this.workers) {
      if (now - Date.parse(state.received_at) > FORGET_AFTER_MS) forgotten.push(id);
    }
    if (forgotten.length === 0) return;
    for (const id of forgotten) {
      this.workers.delete(id);
      this.circuits.delete(id);
    }
    await this.ctx.storage.delete(forgotten.map((id) => WORKER_KEY_PREFIX + id));
  }
}

/** The circuit settings from the edge's variables (validated like the rest of its configuration). */
function circuitSettingsFrom(env: EdgeBindings): CircuitSettings {
  const config = EdgeConfigSchema.pick({
    MODELGATE_CIRCUIT_FAILURE_THRESHOLD: true,
    MODELGATE_CIRCUIT_COOLDOWN_MS: true,
  }).safeParse(env);
  if (!config.success) return DEFAULT_CIRCUIT_SETTINGS;
  return {
    failureThreshold: config.data.MODELGATE_CIRCUIT_FAILURE_THRESHOLD,
    cooldownMs: config.data.MODELGATE_CIRCUIT_COOLDOWN_MS,
  };
}

export function workerPoolStub(namespace: DurableObjectNamespace<WorkerPool>): DurableObjectStub<WorkerPool> {
  return namespace.get(namespace.idFromName("global"));
}
