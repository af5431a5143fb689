/**
 * From an automaton state to the tokens that may come next, and the per-row cursor the sampler
 * uses each step. Masks are computed once per (automaton state, vocabulary) by walking the
 * vocabulary trie and cached, so a state decoding revisits (inside a string, between members)
 * costs one lookup and one pass over the logits.
 */
import { DEAD, type LazyDfa } from "./lazy-dfa.js";
import type { VocabularyTrie } from "./token-vocabulary.js";

export interface StateMask {
  /** Tokens that keep the output valid, with the automaton state each leads to. */
  readonly tokens: Int32Array;
  readonly next: Int32Array;
  /** The largest distance-to-complete among `next`: under it the token budget needs no check. */
  readonly farthest: number;
}

/** One constraint over one vocabulary: the automaton, the trie, and the masks found so far. */
export class TokenConstraint {
  readonly dfa: LazyDfa;
  readonly trie: VocabularyTrie;
  readonly #masks = new Map<number, StateMask>();
  #scratch: Float32Array;
  /** Time spent computing masks that were not cached yet (for the benchmark's figures). */
  maskBuildMs = 0;

  constructor(dfa: LazyDfa, trie: VocabularyTrie) {
    this.dfa = dfa;
    this.trie = trie;
    this.#scratch = new Float32Array(trie.vocabulary.size);
  }

  get cachedMasks(): number {
    return this.#masks.size;
  }

  maskFor(state: number): StateMask {
    const known = this.#masks.get(state);
    if (known) return known;
    const started = performance.now();
    const mask = this.#buildMask(state);
    this.maskBuildMs += performance.now() - started;
    this.#masks.set(state, mask);
    return mask;
  }

  /** The trie walk: depth first, a child visited only while the automaton can take its byte. */
  #buildMask(state: number): StateMask {
    const { trie, dfa } = this;
    const tokens: number[] = [];
    const next: number[] = [];
    let farthest = 0;
    const nodes = [0];
    const states = [state];
    while (nodes.length > 0) {
      const node = nodes.pop() ?? 0;
      const at = states.pop() ?? DEAD;
      for (let child = trie.firstChild[node] ?? -1; child >= 0; child = trie.nextSibling[child] ?? -1) {
        const target = dfa.next(at, trie.byte[child] ?? 0);
        if (target === DEAD) continue;
        const from = trie.tokenStart[child] ?? 0;
        const to = trie.tokenStart[child + 1] ?? from;
        if (to > from) {
          const distance = dfa.distance(target);
          if (distance > farthest) farthest = distance;
          for (let i = from; i < to; i++) {
            tokens.push(trie.tokenIds[i] ?? 0);
            next.push(target);
          }
        }
        if ((trie.firstChild[child] ?? -1) >= 0) {
          nodes.push(child);
          states.push(target);
        }
      }
    }
    return { tokens: Int32Array.from(tokens), next: Int32Array.from(next), farthest };
  }

  /**
   * A logits-sized buffer shared by every cursor of this constraint (a thread samples one row at
   * a time). Sized to the logits, which may be longer than the vocabulary (padded exports).
   */
  scratchFor(length: number): Float32Array {
    if (this.#scratch.length !== length) this.#scratch = new Float32Array(length);
    return this.#scratch;
  }
}

export interface MaskOptions {
  /** Tokens this row may still generate, this one included. */
  remaining: number;
  /** Whether end-of-sequence may be chosen (false before min_new_tokens). */
  eosAllowed: boolean;
  /** Further ids left as they are (a latent span's opening marker). */
  keep?: readonly number[];
}

/** One row's position in its constraint. */
export class ConstraintCursor {
  readonly constraint: TokenConstraint;
  #state: number;

  constructor(constraint: TokenConstraint) {
    this.constraint = constraint;
    this.#state = constraint.dfa.start;
  }

  get state(): number {
    return this.#state;
  }

  /** The output so far is complete. */
  get accepting(): boolean {
    return this.constraint.dfa.accepting(this.#state);
  }

  /** Complete, and no byte could follow: the output is over. */
  get finished(): boolean {
    return this.accepting && !this.constraint.dfa.continues(this.#state);
  }

  /** Fewest bytes that complete the output from here. */
  get distance(): number {
    return this.constraint.dfa.distance(this.#state);
  }

  /**
   * Sets every logit that cannot continue a valid output to −∞: tokens the automaton cannot
   * take, tokens after which the remaining budget cannot complete the output (when every byte is
   * a token, a byte-count distance bounds the tokens needed), and end-of-sequence unless the output
   * is complete. At least one token always survives.
   */
  apply(logits: Float32Array, options: MaskOptions): void {
    const { dfa, trie } = this.constraint;
    const mask = this.constraint.maskFor(this.#state);
    const scratch = this.constraint.scratchFor(logits.length);
    scratch.fill(Number.NEGATIVE_INFINITY);
    const room = options.remaining - 1;
    const checkBudget = trie.coversEveryByte && mask.farthest > room;
    let kept = 0;
    let closestDistance = Number.POSITIVE_INFINITY;
    for (let i = 0; i < mask.tokens.length; i++) {
      const token = mask.tokens[i] ?? 0;
      if (checkBudget) {
        const distance = dfa.distance(mask.next[i] ?? DEAD);
        if (distance < closestDistance) closestDistance = distance;
        if (distance > room) continue;
      }
      scratch[token] = logits[token] ?? Number.NEGATIVE_INFINITY;
      kept++;
    }
    const accepting = dfa.accepting(this.#state);
    if (accepting && (options.eosAllowed || kept === 0)) {
      for (const eos of trie.vocabulary.eosTokenIds) {
        scratch[eos] = logits[eos] ?? 0;
        kept++;
      }
    }
    for (const id of options.keep ?? []) scratch[id] = logits[id] ?? Number.NEGATIVE_INFINITY;
    // Short of budget anyway (fewer tokens than bytes left to write, which multi-byte tokens may
    // still make up): the tokens that get closest to the end, the model choosing among them.
    if (kept === 0 && checkBudget) {
      for (let i = 0; i < mask.tokens.length; i++) {
        const token = mask.tokens[i] ?? 0;
        if (dfa.distance(mask.next[i] ?? DEAD) === closestDistance) scratch[token] = logits[token] ?? 0;
      }
    }
    logits.set(scratch);
  }

  /**
   * Moves past a visible token (DEAD if it does not fit). Walking its bytes costs a few table
   * lookups (the transitions were made when the mask was), less than finding it in the mask.
   */
  advance(token: number): void {
    const bytes = this.constraint.trie.vocabulary.tokenBytes[token];
    this.#state = bytes === undefined ? DEAD : this.constraint.dfa.walk(this.#state, bytes);
  }

  /** Whether `text` alone is a complete output. */
  acceptsText(text: string): boolean {
    return this.constraint.dfa.accepts(new TextEncoder().encode(text));
  }
}
