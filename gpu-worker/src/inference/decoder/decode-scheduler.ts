/**
 * Continuous batching for one loaded causal LM: requests join the running batch as soon as
 * their prompt is prefilled and leave it the step they finish, so a long generation never
 * holds a short one back. Between steps the scheduler yields to the thread's event loop, which
 * is when new requests arrive.
 */

import type { TokenConstraint } from "../../engine/constraints/token-masks.js";
import type { BatchExecutions, GenerationTiming } from "../../metrics/worker-metrics.js";
import { GenerationSequence, type SequenceResult, type SequenceSettings } from "../generation-sequence.js";
import type { TextTokenizer } from "../tokenizers/text-tokenizer.js";
import type { CausalDecoder, DecoderSequence } from "./causal-decoder.js";

export interface ScheduledGeneration extends SequenceResult {
  /** The halt head's [continue, halt] over the prompt and the kept answer; null without one. */
  haltLogits: [number, number] | null;
  inferenceTimeMs: number;
  timing: GenerationTiming;
  /**
   * This model's executions (prefills and decode steps, by batch size) since the last finished
   * generation reported them: every execution is reported exactly once, by whichever finishes next.
   */
  executions: BatchExecutions[];
}

export interface GenerationRequest {
  settings: SequenceSettings;
  /** Visible text as it appears, for streaming. */
  onText?: (text: string) => void;
  /** Aborted when the caller went away: the sequence leaves the batch at the next step. */
  signal?: AbortSignal;
  /** Constrained decoding: this row's outputs must stay inside this constraint. */
  constraint?: TokenConstraint | undefined;
}

/** What a generation resolves to: its result, or "cancelled" when its signal was aborted. */
export type GenerationOutcome = ScheduledGeneration | "cancelled";

interface ActiveSequence {
  request: GenerationRequest;
  generation: GenerationSequence;
  sequence: DecoderSequence;
  /**
   * Halt logits after the prompt and after each fed token: haltHistory[k] covers k generated
   * tokens (null at steps that did not read the halt head).
   */
  haltHistory: ([number, number] | null)[];
  /** The token to feed next. */
  pending: number;
  startedAt: number;
  queueMs: number;
  prefillMs: number;
  /** When the first token was sampled (the end of the prefill). */
  firstTokenAt: number;
  resolve(result: GenerationOutcome): void;
  reject(error: unknown): void;
}

interface WaitingRequest {
  request: GenerationRequest;
  resolve(result: GenerationOutcome): void;
  reject(error: unknown): void;
  queuedAt: number;
}

export class DecodeScheduler {
  readonly #decoder: CausalDecoder;
  readonly #tokenizer: TextTokenizer;
  readonly #maxBatch: number;
  readonly #waiting: WaitingRequest[] = [];
  #active: ActiveSequence[] = [];
  #running = false;
  /** Executions since the last report, by `phase:batchSize`. */
  #executions = new Map<string, BatchExecutions>();

  constructor(decoder: CausalDecoder, tokenizer: TextTokenizer, maxBatch: number) {
    this.#decoder = decoder;
    this.#tokenizer = tokenizer;
    this.#maxBatch = Math.max(1, maxBatch);
  }

  /** Sequences decoding now, and those waiting for a place in the batch. */
  get load(): { active: number; waiting: number } {
    return { active: this.#active.length, waiting: this.#waiting.length };
  }

  generate(request: GenerationRequest): Promise<GenerationOutcome> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ request, resolve, reject, queuedAt: performance.now() });
      if (!this.#running) void this.#loop();
    });
  }

  async #loop(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.length > 0 || this.#active.length > 0) {
        const admitted = await this.#admitWaiting();
        const stepped = await this.#stepActive();
        // onnxruntime-node runs each model call from a setImmediate, so every call already lets
        // queued messages (new requests, cancels, other models' jobs) in; yield only without one.
        if (!admitted && !stepped) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#running = false;
    }
  }

  /**
   * Prefills waiting requests, as many as the batch has room for, in one model call; true when
   * a model call was made.
   */
  async #admitWaiting(): Promise<boolean> {
    const admitted: WaitingRequest[] = [];
    while (this.#waiting.length > 0 && this.#active.length + admitted.length < this.#maxBatch) {
      const waiting = this.#waiting.shift();
      if (!waiting) break;
      if (waiting.request.signal?.aborted) waiting.resolve("cancelled");
      else admitted.push(waiting);
    }
    if (admitted.length === 0) return false;
    let prefilled: Awaited<ReturnType<CausalDecoder["prefill"]>>;
    const admittedAt = performance.now();
    try {
      prefilled = await this.#decoder.prefill(admitted.map((w) => w.request.settings.promptIds));
    } catch (error) {
      for (const waiting of admitted) waiting.reject(error);
      return true;
    }
    const prefillMs = performance.now() - admittedAt;
    this.#countExecution("prefill", admitted.length);
    admitted.forEach((waiting, i) => {
      const first = prefilled[i];
      if (!first) return;
      const active: ActiveSequence = {
        request: waiting.request,
        generation: new GenerationSequence(waiting.request.settings, this.#tokenizer, {
          streaming: waiting.request.onText !== undefined,
          constraint: waiting.request.constraint,
        }),
        sequence: first.sequence,
        haltHistory: [first.output.halt],
        pending: -1,
        startedAt: waiting.queuedAt,
        queueMs: admittedAt - waiting.queuedAt,
        prefillMs,
        firstTokenAt: 0,
        resolve: waiting.resolve,
        reject: waiting.reject,
      };
      if (!this.#advanceOrFail(active, first.output.logits)) return;
      active.firstTokenAt = performance.now();
      this.#active.push(active);
    });
    return true;
  }

  /** Samples the next token of a sequence that is still generating. */
  #advance(active: ActiveSequence, logits: Float32Array): void {
    const { token, textDelta } = active.generation.next(logits);
    active.pending = token;
    if (textDelta !== "") active.request.onText?.(textDelta);
  }

  /**
   * `#advance`, failing only this sequence if sampling throws (a constraint whose automaton grows
   * past its limit): the rest of the batch goes on. False when the sequence was failed.
   */
  #advanceOrFail(active: ActiveSequence, logits: Float32Array): boolean {
    try {
      this.#advance(active, logits);
      return true;
    } catch (error) {
      this.#decoder.release(active.sequence);
      active.reject(error);
      return false;
    }
  }

  /** One decode step for the batch; true when a model call was made. */
  async #stepActive(): Promise<boolean> {
    // Finished sequences whose halt head still has to read their last kept token stay one more step.
    const stepping: ActiveSequence[] = [];
    for (const active of this.#active) {
      if (active.request.signal?.aborted) {
        this.#decoder.release(active.sequence);
        active.resolve("cancelled");
      } else if (active.generation.finished === undefined || this.#needsHaltStep(active)) {
        stepping.push(active);
      } else {
        this.#complete(active);
      }
    }
    this.#active = stepping;
    if (stepping.length === 0) return false;
    let outputs: Awaited<ReturnType<CausalDecoder["step"]>>;
    // The halt head is read when a sequence's answer may end at this step: its final halt step,
    // or any step of one with stop strings (which can cut the answer back to any earlier token).
    const readHalt = stepping.some(
      (a) => this.#hasHaltHead(a) && (a.generation.finished !== undefined || a.request.settings.stop.length > 0),
    );
    this.#countExecution("decode", stepping.length);
    try {
      outputs = await this.#decoder.step(
        stepping.map((a) => ({ sequence: a.sequence, token: a.pending })),
        readHalt,
      );
    } catch (error) {
      // A failed model call fails every sequence in the batch; their caches are gone with it.
      for (const active of stepping) {
        this.#decoder.release(active.sequence);
        active.reject(error);
      }
      this.#active = [];
      return true;
    }
    const failed = new Set<ActiveSequence>();
    stepping.forEach((active, row) => {
      const output = outputs[row];
      if (!output) return;
      active.haltHistory.push(output.halt);
      if (active.generation.finished === undefined && !this.#advanceOrFail(active, output.logits)) failed.add(active);
    });
    if (failed.size > 0) this.#active = this.#active.filter((active) => !failed.has(active));
    return true;
  }

  /** The prefill always reads the halt head, so a null there means the model has none. */
  #hasHaltHead(active: ActiveSequence): boolean {
    return active.haltHistory[0] !== null;
  }

  #needsHaltStep(active: ActiveSequence): boolean {
    const fed = active.haltHistory.length - 1;
    return this.#hasHaltHead(active) && fed < active.generation.keptTokens;
  }

  #complete(active: ActiveSequence): void {
    this.#decoder.release(active.sequence);
    const result = active.generation.result();
    const now = performance.now();
    active.resolve({
      ...result,
      haltLogits: active.haltHistory[active.generation.keptTokens] ?? null,
      inferenceTimeMs: now - active.startedAt,
      timing: {
        queueMs: active.queueMs,
        prefillMs: active.prefillMs,
        decodeMs: now - active.firstTokenAt,
        firstTokenMs: active.firstTokenAt - active.startedAt,
      },
      executions: this.#takeExecutions(),
    });
  }

  #countExecution(phase: BatchExecutions["phase"], batchSize: number): void {
    const key = `${phase}:${batchSize}`;
    const counted = this.#executions.get(key);
    if (counted) counted.count++;
    else this.#executions.set(key, { phase, batchSize, count: 1 });
  }

  #takeExecutions(): BatchExecutions[] {
    const executions = [...this.#executions.values()];
    this.#executions.clear();
    return executions;
  }
}
