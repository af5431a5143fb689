/**
 * Which models are loaded on which inference thread, within a memory budget. Loading a model
 * that would not fit evicts idle models, least recently used first; a model with requests in
 * flight is never evicted. Concurrent requests for the same model share one load.
 */
import {
  err,
  type LoadedModel,
  type ModelFile,
  ModelgateError,
  type ModelVersion,
  ok,
  type Result,
} from "@modelgate/shared";
import type { ArtifactCache } from "../artifacts/artifact-cache.js";
import { type Logger, silentLogger } from "../logger.js";
import { modelLabelsOf, type WorkerMetrics } from "../metrics/worker-metrics.js";
import type { InferenceThreadPool } from "./inference-pool.js";
import type { SessionSettings, TokenizerSource } from "./thread-protocol.js";

export interface ResidentModel {
  threadIndex: number;
  inputNames: string[];
  outputNames: string[];
  model: LoadedModel;
}

interface Residency {
  key: string;
  /** The converted format this file is (`fp32` for the registered original). */
  format: string;
  memoryMb: number;
  loading: Promise<Result<ResidentModel>>;
  loaded: ResidentModel | undefined;
  inFlight: number;
  lastUsed: number;
  /**
   * Every version this file has been asked for as (`name@version`), most recent last: several
   * versions may point at one artifact (a copy registered under another name, a re-registration),
   * and each is warm here once the file is loaded, so the heartbeat names each of them.
   */
  servedAs: Map<string, LoadedModel>;
}

/** Versions named per loaded file in heartbeats: the most recent ones (a heartbeat holds at most 256 entries). */
const MAX_VERSIONS_PER_FILE = 8;
const MAX_LOADED_ENTRIES = 256;

export interface ModelResidencyOptions {
  pool: InferenceThreadPool;
  artifacts: ArtifactCache;
  sessionSettings: SessionSettings;
  memoryBudgetMb: number;
  logger?: Logger;
  now?: () => number;
  metrics?: WorkerMetrics | undefined;
}

export class ModelResidency {
  readonly #options: ModelResidencyOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Keyed by artifact sha256: one session per distinct file, shared by every name pointing at it. */
  readonly #models = new Map<string, Residency>();

  constructor(options: ModelResidencyOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
  }

  /** What heartbeats report: each loaded file once per version it has served. */
  loadedModels(): LoadedModel[] {
    return [...this.#models.values()]
      .flatMap((r) => (r.loaded ? [...r.servedAs.values()] : []))
      .slice(0, MAX_LOADED_ENTRIES);
  }

  /** Loaded models with the format each file is, for the metrics. */
  residentModels(): Array<{ model: LoadedModel; format: string }> {
    return [...this.#models.values()].flatMap((r) => (r.loaded ? [{ model: r.loaded.model, format: r.format }] : []));
  }

  /** Forget sessions that died with their thread; the next request loads them again. */
  forget(modelKeys: readonly string[]): void {
    for (const key of modelKeys) this.#models.delete(key);
  }

  /** Whether this version's artifact is loaded or loading (a preload then has nothing to do). */
  holds(target: ModelVersion): boolean {
    return this.#models.has(target.artifact.sha256);
  }

  /**
   * Runs `use` with the version loaded, counting it as in flight so it cannot be evicted meanwhile.
   */
  async withModel<T>(target: ModelVersion, use: (model: ResidentModel) => Promise<Result<T>>): Promise<Result<T>> {
    const residency = this.#ensure(target);
    residency.inFlight++;
    try {
      const loaded = await residency.loading;
      if (!loaded.ok) return loaded;
      residency.lastUsed = this.#now();
      return await use(loaded.value);
    } finally {
      residency.inFlight--;
      residency.lastUsed = this.#now();
    }
  }

  #ensure(target: ModelVersion): Residency {
    const key = target.artifact.sha256;
    const existing = this.#models.get(key);
    if (existing) {
      rememberServedAs(existing, target);
      return existing;
    }
    const residency: Residency = {
      key,
      format: target.serving_format ?? "fp32",
      memoryMb: target.memory_mb,
      loading: Promise.resolve(err(new ModelgateError("internal", "not loaded yet"))),
      loaded: undefined,
      inFlight: 0,
      lastUsed: this.#now(),
      servedAs: new Map(),
    };
    rememberServedAs(residency, target);
    this.#models.set(key, residency);
    const started = performance.now();
    const labels = modelLabelsOf(target);
    this.#options.metrics?.modelLoadStarted(labels);
    residency.loading = this.#load(target, residency).then((result) => {
      if (result.ok) this.#options.metrics?.modelLoaded(labels, (performance.now() - started) / 1000);
      else this.#options.metrics?.modelLoadFailed(labels);
      // A failed load is not remembered, so the next request tries again.
      if (!result.ok && this.#models.get(key) === residency) this.#models.delete(key);
      return result;
    });
    return residency;
  }

  async #load(target: ModelVersion, residency: Residency): Promise<Result<ResidentModel>> {
    const label = `${target.name}@${target.version}`;
    const room = await this.#makeRoom(residency);
    if (!room.ok) return room;
    const path = await this.#options.artifacts.ensureArtifact(target.artifact);
    if (!path.ok) return path;
    const tokenizer = await this.#tokenizerSource(target);
    if (!tokenizer.ok) return tokenizer;
    const { pool } = this.#options;
    const threadIndex = pool.chooseThreadForNewModel();
    const outcome = await pool.run(threadIndex, {
      type: "load",
      modelKey: residency.key,
      path: path.value,
      settings: this.#options.sessionSettings,
      tokenizer: tokenizer.value,
    });
    if (!outcome.ok) {
      this.#logger.error("model failed to load", { model: label, reason: outcome.message });
      return err(new ModelgateError("internal", `Model ${label} could not be loaded.`));
    }
    const model = loadedModelOf(target);
    residency.loaded = {
      threadIndex,
      inputNames: outcome.reply.inputNames,
      outputNames: outcome.reply.outputNames,
      model,
    };
    this.#logger.info("model loaded", { model: label, thread: threadIndex, ms: Math.round(outcome.reply.loadMs) });
    return ok(residency.loaded);
  }

  /** Evicts idle models, least recently used first, until `incoming` fits in the budget. */
  async #makeRoom(incoming: Residency): Promise<Result<void>> {
    const budget = this.#options.memoryBudgetMb;
    const others = () => [...this.#models.values()].filter((r) => r !== incoming);
    const used = () => others().reduce((sum, r) => sum + r.memoryMb, 0);
    if (incoming.memoryMb > budget) {
      return err(
        new ModelgateError(
          "no_worker_available",
          `This worker's model memory budget (${budget} MB) is smaller than the model (${incoming.memoryMb} MB).`,
        ),
      );
    }
    while (used() + incoming.memoryMb > budget) {
      const [victim] = others()
        .filter((r) => r.inFlight === 0 && r.loaded !== undefined)
        .sort((a, b) => a.lastUsed - b.lastUsed);
      if (!victim?.loaded) {
        return err(
          new ModelgateError(
            "no_worker_available",
            `This worker's model memory (${budget} MB) is taken by models serving requests; try another worker.`,
          ),
        );
      }
      this.#models.delete(victim.key);
      this.#logger.info("model evicted", {
        model: `${victim.loaded.model.name}@${victim.loaded.model.version}`,
        memory_mb: victim.memoryMb,
      });
      await this.#options.pool.run(victim.loaded.threadIndex, { type: "unload", modelKey: victim.key });
    }
    return ok(undefined);
  }

  async #tokenizerSource(target: ModelVersion): Promise<Result<TokenizerSource | undefined>> {
    const spec = target.tokenizer;
    if (spec === undefined) return ok(undefined);
    if (spec.type === "byte-level") return ok({ type: "byte-level", spec });
    const fetchFile = (file: ModelFile) => this.#options.artifacts.ensureArtifact(file);
    const tokenizerJson = await fetchFile(spec.tokenizer_json);
    if (!tokenizerJson.ok) return tokenizerJson;
    let tokenizerConfigPath: string | undefined;
    if (spec.tokenizer_config_json) {
      const config = await fetchFile(spec.tokenizer_config_json);
      if (!config.ok) return config;
      tokenizerConfigPath = config.value;
    }
    return ok({
      type: "hf-tokenizer",
      tokenizerJsonPath: tokenizerJson.value,
      tokenizerConfigPath,
      eosTokenIds: spec.eos_token_ids,
    });
  }
}

function rememberServedAs(residency: Residency, target: ModelVersion): void {
  const id = `${target.name}@${target.version}`;
  residency.servedAs.delete(id);
  residency.servedAs.set(id, loadedModelOf(target));
  if (residency.servedAs.size > MAX_VERSIONS_PER_FILE) {
    const [oldest] = residency.servedAs.keys();
    if (oldest !== undefined) residency.servedAs.delete(oldest);
  }
}

/** How a heartbeat names a version held here (one GPU slot on this worker: index 0). */
function loadedModelOf(target: ModelVersion): LoadedModel {
  return {
    name: target.name,
    version: target.version,
    sha256: target.artifact.sha256,
    memory_mb: target.memory_mb,
    gpu_index: 0,
  };
}
