import { DurableObject } from "cloudflare:workers";
import {
  applySelectionFlagsPatch,
  DEFAULT_SELECTION_FLAGS,
  type EnrolmentClaims,
  type SelectionFlags,
  type SelectionFlagsPatch,
  SelectionFlagsSchema,
  urlMatchesPattern,
  type WorkerControl,
  WorkerControlSchema,
  type WorkerHeartbeat,
  type WorkerIdentity,
  WorkerIdentitySchema,
  type WorkerState,
  WorkerStateSchema,
  workerTakesNewWork,
} from "@modelgate/shared";
import { type EdgeBindings, EdgeConfigFieldsSchema } from "../env.js";
import type { WireResult } from "../registry/wire-result.js";
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
const IDENTITY_KEY_PREFIX = "identity:";
const CREDENTIAL_KEY_PREFIX = "credential:";
const CONTROL_KEY_PREFIX = "control:";
/** Exchanged enrolment tokens' nonces, kept until the token would have expired anyway. */
const USED_ENROLMENT_PREFIX = "enrolment-used:";

/** Who sends a heartbeat or job call: an enrolled worker's credential (by its sha256) or the legacy token. */
export type WorkerAuthority = { kind: "credential"; credentialSha256: string } | { kind: "legacy-token" };
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
  private readonly identities = new Map<string, WorkerIdentity>();
  private readonly controls = new Map<string, WorkerControl>();
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
      for (const value of (await ctx.storage.list<unknown>({ prefix: IDENTITY_KEY_PREFIX })).values()) {
        const parsed = WorkerIdentitySchema.safeParse(value);
        if (parsed.success) this.identities.set(parsed.data.worker_id, parsed.data);
      }
      for (const [key, value] of await ctx.storage.list<unknown>({ prefix: CONTROL_KEY_PREFIX })) {
        const parsed = WorkerControlSchema.safeParse(value);
        if (parsed.success) this.controls.set(key.slice(CONTROL_KEY_PREFIX.length), parsed.data);
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

  /**
   * A heartbeat checked against who sent it, in the same serialized step that records it: an
   * enrolled worker's credential only for its own id and inside its URL pattern; the legacy
   * token only for ids nobody enrolled. A refused heartbeat changes nothing.
   */
  async recordAuthorizedHeartbeat(
    heartbeat: WorkerHeartbeat,
    authority: WorkerAuthority,
    receivedAt: string = new Date().toISOString(),
  ): Promise<WireResult<WorkerState>> {
    const refusal = this.refusalFor(heartbeat.worker_id, authority);
    if (refusal) return refusal;
    const identity = this.identities.get(heartbeat.worker_id);
    if (identity && !urlMatchesPattern(heartbeat.url, identity.url_pattern)) {
      return forbidden(`${heartbeat.url} is outside the URL pattern ${identity.url_pattern} enrolled for this worker.`);
    }
    return { ok: true, value: await this.recordHeartbeat(heartbeat, receivedAt) };
  }

  /** Whether the caller may act as this worker id (job claims and reports), as a problem when not. */
  async authorizeWorker(workerId: string, authority: WorkerAuthority): Promise<WireResult<{ takesNewWork: boolean }>> {
    const refusal = this.refusalFor(workerId, authority);
    if (refusal) return refusal;
    const heartbeat = this.workers.get(workerId)?.heartbeat;
    return { ok: true, value: { takesNewWork: workerTakesNewWork(this.controls.get(workerId), heartbeat ?? {}) } };
  }

  private refusalFor(workerId: string, authority: WorkerAuthority): WireResult<never> | undefined {
    const identity = this.identities.get(workerId);
    if (authority.kind === "legacy-token") {
      return identity
        ? forbidden(`Worker ${workerId} is enrolled: only its own credential may act for it, not the shared token.`)
        : undefined;
    }
    if (!identity || identity.revoked_at !== undefined || identity.credential_sha256 !== authority.credentialSha256) {
      return forbidden(`This credential belongs to another worker; it cannot act as ${workerId}.`);
    }
    return undefined;
  }

  /** The live identity a credential belongs to (undefined when unknown or revoked). */
  async findCredential(sha256: string): Promise<WorkerIdentity | undefined> {
    const workerId = await this.ctx.storage.get<string>(CREDENTIAL_KEY_PREFIX + sha256);
    const identity = workerId === undefined ? undefined : this.identities.get(workerId);
    return identity && identity.revoked_at === undefined && identity.credential_sha256 === sha256
      ? identity
      : undefined;
  }

  /**
   * Exchanges an (already authenticated) enrolment token's claims for a credential: once per
   * token. A worker enrolled before gets the new credential in place of its old one (rotation);
   * a revoked one is enrolled afresh.
   */
  async enrol(claims: EnrolmentClaims, credentialSha256: string, at: string): Promise<WireResult<WorkerIdentity>> {
    const usedKey = USED_ENROLMENT_PREFIX + claims.nonce;
    if ((await this.ctx.storage.get(usedKey)) !== undefined) {
      return { ok: false, error: { code: "conflict", detail: "This enrolment token was already exchanged." } };
    }
    const previous = this.identities.get(claims.worker_id);
    const identity: WorkerIdentity = {
      worker_id: claims.worker_id,
      credential_sha256: credentialSha256,
      url_pattern: claims.url_pattern,
      labels: claims.labels,
      enrolled_at: at,
      rotations: previous && previous.revoked_at === undefined ? previous.rotations + 1 : 0,
    };
    this.identities.set(identity.worker_id, identity);
    await this.ctx.storage.put({
      [usedKey]: claims.expires_at,
      [IDENTITY_KEY_PREFIX + identity.worker_id]: identity,
      [CREDENTIAL_KEY_PREFIX + credentialSha256]: identity.worker_id,
    });
    if (previous) await this.ctx.storage.delete(CREDENTIAL_KEY_PREFIX + previous.credential_sha256);
    await this.forgetExpiredEnrolments(Date.parse(at));
    return { ok: true, value: identity };
  }

  /** Revokes the worker's credential and takes it out of routing at once. Idempotent. */
  async revoke(workerId: string, at: string): Promise<WorkerIdentity | undefined> {
    const identity = this.identities.get(workerId);
    if (!identity) return undefined;
    if (identity.revoked_at !== undefined) return identity;
    const revoked = { ...identity, revoked_at: at };
    this.identities.set(workerId, revoked);
    this.workers.delete(workerId);
    this.circuits.delete(workerId);
    await this.ctx.storage.put(IDENTITY_KEY_PREFIX + workerId, revoked);
    await this.ctx.storage.delete([CREDENTIAL_KEY_PREFIX + identity.credential_sha256, WORKER_KEY_PREFIX + workerId]);
    return revoked;
  }

  /**
   * Cordon (no new work), drain (cordon and wait for what runs, until a deadline) or uncordon.
   * Undefined for a worker the pool has never heard of.
   */
  async setControl(
    workerId: string,
    action: { kind: "cordon" } | { kind: "uncordon" } | { kind: "drain"; deadline: string },
    at: string,
  ): Promise<WorkerControl | undefined> {
    if (!this.workers.has(workerId) && !this.identities.has(workerId)) return undefined;
    const current = this.controls.get(workerId);
    let control: WorkerControl;
    if (action.kind === "uncordon") control = { cordoned: false };
    else {
      control = { cordoned: true, cordoned_at: current?.cordoned_at ?? at };
      const drain = action.kind === "drain" ? { requested_at: at, deadline: action.deadline } : current?.drain;
      if (drain) control.drain = drain;
    }
    this.controls.set(workerId, control);
    await this.ctx.storage.put(CONTROL_KEY_PREFIX + workerId, control);
    return control;
  }

  /** Everything the admin fleet listing shows: heartbeats, circuits, identities and controls. */
  async fleetView(now: number = Date.now()): Promise<{
    workers: WorkerState[];
    circuits: Record<string, WorkerCircuit>;
    identities: WorkerIdentity[];
    controls: Record<string, WorkerControl>;
  }> {
    return {
      workers: await this.listWorkers(),
      circuits: this.circuitsAt(now),
      identities: [...this.identities.values()].sort((a, b) => a.worker_id.localeCompare(b.worker_id)),
      controls: Object.fromEntries(this.controls),
    };
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

  /**
   * The fleet as routing sees it: heartbeats of the workers that take new work (cordoned,
   * draining and shutting-down workers are left out) with their enrolment labels for placement,
   * each worker's circuit, and the selection flags.
   */
  async routingView(now: number = Date.now()): Promise<{
    workers: WorkerState[];
    circuits: Record<string, WorkerCircuit>;
    flags: SelectionFlags;
  }> {
    const workers = (await this.listWorkers())
      .filter((state) => workerTakesNewWork(this.controls.get(state.heartbeat.worker_id), state.heartbeat))
      .map((state) => this.withLabels(state));
    return { workers, circuits: this.circuitsAt(now), flags: this.selectionFlags };
  }

  /** A worker's state with its enrolment labels, which placement matches against (none for legacy workers). */
  private withLabels(state: WorkerState): WorkerState {
    const identity = this.identities.get(state.heartbeat.worker_id);
    return identity && Object.keys(identity.labels).length > 0 ? { ...state, labels: identity.labels } : state;
  }

  private circuitsAt(now: number): Record<string, WorkerCircuit> {
    const circuits: Record<string, WorkerCircuit> = {};
    for (const id of this.workers.keys()) {
      const state = this.circuits.get(id) ?? CLOSED_CIRCUIT;
      circuits[id] = {
        position: circuitPosition(state, now, this.circuitSettings),
        consecutiveFailures: state.consecutiveFailures,
      };
    }
    return circuits;
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

  private async forgetExpiredEnrolments(now: number): Promise<void> {
    const used = await this.ctx.storage.list<string>({ prefix: USED_ENROLMENT_PREFIX });
    const expired = [...used].filter(([, expiresAt]) => Date.parse(expiresAt) < now).map(([key]) => key);
    if (expired.length > 0) await this.ctx.storage.delete(expired);
  }
}

function forbidden(detail: string): WireResult<never> {
  return { ok: false, error: { code: "forbidden", detail } };
}

/** The circuit settings from the edge's variables (validated like the rest of its configuration). */
function circuitSettingsFrom(env: EdgeBindings): CircuitSettings {
  const config = EdgeConfigFieldsSchema.pick({
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
