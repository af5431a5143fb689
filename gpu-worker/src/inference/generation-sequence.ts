/**
 * One sequence being generated: turns each step's logits into the next token (repetition
 * penalty, latent-span budget, sampling), and decides when it is finished (EOS, a stop string,
 * the token limit). It knows nothing of how the logits were computed, so the same logic serves
 * full-recompute models and KV-cache models decoding in a batch.
 *
 * Under a constraint (constrained decoding) each step's logits are masked to the tokens that
 * keep the visible output valid, end-of-sequence only where it is complete; masking is suspended
 * inside a latent span, and the token budget is kept so that the output can always be finished.
 */

import { ConstraintCursor, type TokenConstraint } from "../engine/constraints/token-masks.js";
import { applyRepetitionPenalty, createSeededRandom, sampleToken } from "./sampling.js";
import type { TextTokenizer } from "./tokenizers/text-tokenizer.js";

export type SequenceFinishReason = "eos" | "length" | "stop";

export interface LatentSettings {
  /** Whether the model may open `<bot>…<eot>` spans at all (latent mode, after the tier clamp). */
  enabled: boolean;
  /** Spans it may open; `<bot>` is masked out once they are used. */
  maxSpans: number;
  /** Tokens a span may hold before `<eot>` is forced. */
  maxLength: number;
  /** Keep spans in the returned text (as `<bot>…<eot>`); they are always hidden from the stream. */
  include: boolean;
}

export interface SequenceSettings {
  promptIds: readonly number[];
  maxNewTokens: number;
  /** End-of-sequence ids are masked until this many tokens exist (0: never). */
  minNewTokens?: number | undefined;
  /** 0 is greedy. */
  temperature: number;
  topK?: number | undefined;
  topP?: number | undefined;
  /** 1 disables it. */
  repetitionPenalty: number;
  /** Matched against the visible text (latent spans and special tokens excluded). */
  stop: readonly string[];
  seed: number;
  latent: LatentSettings;
}

export interface SequenceResult {
  /** Generated ids that are part of the answer (a stop string and what follows it are cut). */
  tokenIds: number[];
  /** The answer: visible text, plus latent spans when asked for. */
  text: string;
  finishReason: SequenceFinishReason;
  latentSpansUsed: number;
}

/**
 * Streams text out of growing token ids without re-decoding everything each step: it decodes
 * a short window and only releases text once it no longer ends in an incomplete character
 * (the approach of Hugging Face's text-generation-inference).
 */
export class IncrementalDetokenizer {
  readonly #decode: (ids: readonly number[]) => string;
  readonly #ids: number[] = [];
  #prefixOffset = 0;
  #readOffset = 0;

  constructor(decode: (ids: readonly number[]) => string) {
    this.#decode = decode;
  }

  /** Adds one id; returns the text it completes (often "", for a partial character). */
  push(id: number): string {
    this.#ids.push(id);
    const settled = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const current = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (current.length <= settled.length || current.endsWith("\uFFFD")) return "";
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return current.slice(settled.length);
  }
}

export class GenerationSequence {
  readonly #settings: SequenceSettings;
  readonly #tokenizer: TextTokenizer;
  readonly #random: () => number;
  readonly #seen: Set<number>;
  readonly #generated: number[] = [];
  /** Only when the text is needed as it grows (streaming, stop strings); otherwise it is decoded once at the end. */
  readonly #visible: IncrementalDetokenizer | undefined;
  /** Visible text so far, and the number of generated ids behind each of its flush points. */
  #visibleText = "";
  /** How much of the visible text has been handed out for streaming. */
  #streamed = 0;
  readonly #flushes: { textLength: number; tokens: number }[] = [];
  readonly #longestStop: number;
  #inLatent = false;
  #latentLength = 0;
  #spansUsed = 0;
  #finish: SequenceFinishReason | undefined;
  /** Generated ids that belong to the answer; less than all of them after a stop string. */
  #keptTokens = 0;
  #stopAt: number | undefined;

  /** Where the visible output stands in its constraint; undefined without one. */
  readonly #constraint: ConstraintCursor | undefined;

  constructor(
    settings: SequenceSettings,
    tokenizer: TextTokenizer,
    options: { streaming: boolean; constraint?: TokenConstraint | undefined } = { streaming: false },
  ) {
    this.#settings = settings;
    this.#tokenizer = tokenizer;
    this.#constraint = options.constraint ? new ConstraintCursor(options.constraint) : undefined;
    this.#random = createSeededRandom(settings.seed);
    this.#seen = new Set(settings.promptIds);
    this.#visible =
      options.streaming || settings.stop.length > 0
        ? new IncrementalDetokenizer((ids) => tokenizer.decode(ids))
        : undefined;
    this.#longestStop = Math.max(0, ...settings.stop.map((s) => s.length));
  }

  get finished(): SequenceFinishReason | undefined {
    return this.#finish;
  }

  get generatedCount(): number {
    return this.#generated.length;
  }

  /**
   * How many generated ids the answer keeps: the halt head must judge the sequence up to there
   * (prompt + kept ids), so the caller reads its halt logits after feeding that many.
   */
  get keptTokens(): number {
    return this.#keptTokens;
  }

  /**
   * Chooses the next token from the model's logits for the last position and records it.
   * Returns the token and the visible text it adds (for streaming). Takes ownership of `logits`
   * (it is penalised and masked in place).
   */
  next(logits: Float32Array): { token: number; textDelta: string } {
    if (this.#finish !== undefined) throw new Error("sequence already finished");
    const token = this.#choose(logits);
    this.#generated.push(token);
    this.#seen.add(token);
    this.#track(token);
    if (this.#finish !== "stop") this.#keptTokens = this.#generated.length;
    if (this.#finish === undefined && this.#generated.length >= this.#settings.maxNewTokens) this.#finish = "length";
    return { token, textDelta: this.#releaseText() };
  }

  /**
   * Visible text not yet streamed. While generating, the tail that could still grow into a stop
   * string is held back, so a client never receives text that the answer will not contain.
   */
  #releaseText(): string {
    let end = this.#stopAt ?? this.#visibleText.length;
    if (this.#finish === undefined) end -= this.#pendingStopPrefix();
    if (end <= this.#streamed) return "";
    const delta = this.#visibleText.slice(this.#streamed, end);
    this.#streamed = end;
    return delta;
  }

  /** Length of the longest tail of the visible text that begins some stop string. */
  #pendingStopPrefix(): number {
    let longest = 0;
    for (const stop of this.#settings.stop) {
      for (let length = Math.min(stop.length - 1, this.#visibleText.length); length > longest; length--) {
        if (this.#visibleText.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }

  result(): SequenceResult {
    const finishReason = this.#finish ?? "length";
    const tokenIds = this.#generated.slice(0, this.#keptTokens);
    return {
      tokenIds,
      text: this.#answerText(tokenIds),
      finishReason,
      latentSpansUsed: this.#spansUsed,
    };
  }

  #choose(logits: Float32Array): number {
    const { latent } = this.#settings;
    const markers = this.#tokenizer.latent;
    const constraint = this.#constraint;
    const remaining = this.#settings.maxNewTokens - this.#generated.length;
    // A span that reached its length is closed, whatever the model wanted; under a constraint
    // also when the tokens left are only just enough to complete the output after it.
    if (markers && this.#inLatent) {
      if (this.#latentLength >= latent.maxLength) return markers.end;
      if (constraint && remaining - 1 <= constraint.distance) return markers.end;
    }
    const scores = logits;
    applyRepetitionPenalty(scores, this.#seen, this.#settings.repetitionPenalty);
    const eosAllowed = this.#generated.length >= (this.#settings.minNewTokens ?? 0);
    let mayOpen = markers !== undefined && latent.enabled && !this.#inLatent && this.#spansUsed < latent.maxSpans;
    if (constraint && !this.#inLatent) {
      // A span may open only if a whole one, its closing marker and the rest of the output still fit.
      mayOpen &&= remaining - latent.maxLength - 2 >= constraint.distance;
      const keep = mayOpen && markers ? [markers.begin] : [];
      constraint.apply(scores, { remaining, eosAllowed, keep });
    }
    if (markers) {
      if (!mayOpen) scores[markers.begin] = Number.NEGATIVE_INFINITY;
      if (!this.#inLatent) scores[markers.end] = Number.NEGATIVE_INFINITY;
    }
    // Under a constraint the mask already kept end-of-sequence out (or in, when nothing else fits).
    if (!eosAllowed && !constraint) {
      for (const eos of this.#tokenizer.eosTokenIds) scores[eos] = Number.NEGATIVE_INFINITY;
    }
    const filters = { topK: this.#settings.topK, topP: this.#settings.topP };
    return sampleToken(scores, this.#settings.temperature, this.#random, filters);
  }

  /** Updates latent state, end-of-sequence and the visible text for one new token. */
  #track(token: number): void {
    const markers = this.#tokenizer.latent;
    if (this.#tokenizer.eosTokenIds.has(token)) {
      this.#finish = "eos";
      return;
    }
    if (markers && token === markers.begin) {
      this.#inLatent = true;
      this.#latentLength = 0;
      this.#spansUsed += 1;
      return;
    }
    if (markers && token === markers.end) {
      this.#inLatent = false;
      return;
    }
    if (this.#inLatent) {
      this.#latentLength += 1;
      return;
    }
    if (this.#tokenizer.isSpecial(token)) return;
    if (this.#constraint) {
      this.#constraint.advance(token);
      // Complete, and nothing may follow: the output is over without spending a step on EOS.
      if (this.#constraint.finished) this.#finish = "eos";
    }
    if (!this.#visible) return;
    const delta = this.#visible.push(token);
    if (delta === "") return;
    const before = this.#visibleText.length;
    this.#visibleText += delta;
    this.#flushes.push({ textLength: this.#visibleText.length, tokens: this.#generated.length });
    this.#checkStop(before);
  }

  /** Ends the sequence at the first stop string that the new text completes. */
  #checkStop(deltaStart: number): void {
    if (this.#settings.stop.length === 0) return;
    // Only the new text and the few characters before it can complete a stop string.
    const searchFrom = Math.max(0, deltaStart - this.#longestStop + 1);
    const window = this.#visibleText.slice(searchFrom);
    let stopAt: number | undefined;
    for (const stop of this.#settings.stop) {
      const index = window.indexOf(stop);
      if (index >= 0 && (stopAt === undefined || searchFrom + index < stopAt)) stopAt = searchFrom + index;
    }
    if (stopAt === undefined) return;
    // Under a constraint a stop string ends the answer only where what precedes it is complete
    // (inside a JSON string it is part of the value).
    if (this.#constraint && !this.#constraint.acceptsText(this.#visibleText.slice(0, stopAt))) return;
    this.#finish = "stop";
    this.#stopAt = stopAt;
    // Whole tokens whose text ends before the stop string stay in token_ids.
    let kept = 0;
    for (const flush of this.#flushes) if (flush.textLength <= stopAt) kept = flush.tokens;
    this.#keptTokens = kept;
  }

  #answerText(tokenIds: readonly number[]): string {
    const visibleOnly = this.#stopAt !== undefined ? this.#visibleText.slice(0, this.#stopAt) : undefined;
    const markers = this.#tokenizer.latent;
    if (!this.#settings.latent.include || !markers || this.#spansUsed === 0) {
      return visibleOnly ?? this.#tokenizer.decode(visibleIds(tokenIds, markers));
    }
    // Latent spans shown in place: decode text and spans segment by segment.
    let text = "";
    let segment: number[] = [];
    for (const id of tokenIds) {
      if (id === markers.begin || id === markers.end) {
        text += this.#tokenizer.decode(segment) + (id === markers.begin ? "<bot>" : "<eot>");
        segment = [];
      } else {
        segment.push(id);
      }
    }
    return text + this.#tokenizer.decode(segment);
  }
}

/** Ids outside latent spans (an unclosed span runs to the end). */
function visibleIds(ids: readonly number[], markers: TextTokenizer["latent"]): number[] {
  if (!markers) return [...ids];
  const visible: number[] = [];
  let inLatent = false;
  for (const id of ids) {
    if (id === markers.begin) inLatent = true;
    else if (id === markers.end) inLatent = false;
    else if (!inLatent) visible.push(id);
  }
  return visible;
}
