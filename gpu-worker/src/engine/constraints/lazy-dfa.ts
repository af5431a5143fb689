/**
 * Determinizes a `ByteNfa` lazily: a DFA state (a set of NFA states) and each of its 256 byte
 * transitions are made the first time decoding needs them, so compiling a large schema costs
 * only its NFA, and only the states outputs actually pass through are ever built.
 *
 * NFA states that cannot reach the end are dropped from every set, so every DFA state other
 * than DEAD can still be completed: masking tokens whose target is DEAD is enough for the output
 * never to get stuck. Each state also knows the fewest bytes that complete it (`distance`), which
 * lets the sampler finish a valid output inside the token budget.
 */
import { AutomatonTooLargeError, type ByteNfa, type Fragment } from "./byte-nfa.js";

export const DEAD = -1;
const UNKNOWN = -2;
const UNREACHABLE = 0x3fffffff;
/** DFA states one automaton may build (each holds a 256-entry transition table: 1 KiB). */
export const MAX_DFA_STATES = 40_000;

export class LazyDfa {
  readonly #nfa: ByteNfa;
  readonly #end: number;
  /** Fewest bytes from each NFA state to the end; UNREACHABLE for states that cannot get there. */
  readonly #nfaDistance: Int32Array;
  readonly #sets: Int32Array[] = [];
  readonly #ids = new Map<string, number>();
  readonly #transitions: Int32Array[] = [];
  readonly #accepting: boolean[] = [];
  readonly #distance: number[] = [];
  readonly #continues: boolean[] = [];
  readonly start: number;

  constructor(nfa: ByteNfa, fragment: Fragment) {
    this.#nfa = nfa;
    this.#end = fragment.end;
    this.#nfaDistance = distancesTo(nfa, fragment.end);
    this.start = this.#intern(this.#closure([fragment.start]));
  }

  get stateCount(): number {
    return this.#sets.length;
  }

  /** The state after `byte`, or DEAD when no output continues that way. */
  next(state: number, byte: number): number {
    const table = this.#transitions[state];
    if (table === undefined) return DEAD;
    const known = table[byte] ?? DEAD;
    if (known !== UNKNOWN) return known;
    const targets: number[] = [];
    for (const nfaState of this.#sets[state] ?? []) {
      const edges = this.#nfa.edges[nfaState] ?? [];
      for (let i = 0; i < edges.length; i += 3) {
        const low = edges[i] ?? 0;
        const high = edges[i + 1] ?? -1;
        const target = edges[i + 2] ?? 0;
        if (byte >= low && byte <= high) targets.push(target);
      }
    }
    const next = this.#intern(this.#closure(targets));
    table[byte] = next;
    return next;
  }

  /** Walks `bytes` from `state`; DEAD as soon as one does not fit. */
  walk(state: number, bytes: Uint8Array): number {
    let at = state;
    for (const byte of bytes) {
      at = this.next(at, byte);
      if (at === DEAD) return DEAD;
    }
    return at;
  }

  /** Whether the output may end here. */
  accepting(state: number): boolean {
    return this.#accepting[state] === true;
  }

  /** Fewest bytes that complete an output from here (0 when accepting). */
  distance(state: number): number {
    return this.#distance[state] ?? UNREACHABLE;
  }

  /** Whether any byte continues from here (false: accepting and complete). */
  continues(state: number): boolean {
    return this.#continues[state] === true;
  }

  /** Whether the whole of `bytes` is an output this automaton accepts. */
  accepts(bytes: Uint8Array): boolean {
    const end = this.walk(this.start, bytes);
    return end !== DEAD && this.accepting(end);
  }

  /** NFA states reachable by epsilon edges, keeping only those that can still reach the end. */
  #closure(seeds: readonly number[]): number[] {
    const seen = new Set<number>();
    const stack = [...seeds];
    for (let state = stack.pop(); state !== undefined; state = stack.pop()) {
      if (seen.has(state)) continue;
      seen.add(state);
      for (const next of this.#nfa.epsilons[state] ?? []) if (!seen.has(next)) stack.push(next);
    }
    const live = [...seen].filter((state) => (this.#nfaDistance[state] ?? UNREACHABLE) < UNREACHABLE);
    return live.sort((a, b) => a - b);
  }

  #intern(set: number[]): number {
    if (set.length === 0) return DEAD;
    const key = set.join(",");
    const known = this.#ids.get(key);
    if (known !== undefined) return known;
    if (this.#sets.length >= MAX_DFA_STATES)
      throw new AutomatonTooLargeError("decoding this constraint", MAX_DFA_STATES);
    const id = this.#sets.length;
    this.#ids.set(key, id);
    this.#sets.push(Int32Array.from(set));
    this.#transitions.push(new Int32Array(256).fill(UNKNOWN));
    let distance = UNREACHABLE;
    let continues = false;
    for (const state of set) {
      distance = Math.min(distance, this.#nfaDistance[state] ?? UNREACHABLE);
      const edges = this.#nfa.edges[state] ?? [];
      for (let i = 2; i < edges.length && !continues; i += 3) {
        continues = (this.#nfaDistance[edges[i] ?? 0] ?? UNREACHABLE) < UNREACHABLE;
      }
    }
    this.#accepting.push(set.includes(this.#end));
    this.#distance.push(distance);
    this.#continues.push(continues);
    return id;
  }
}

/** Fewest bytes from every state to `end` (a 0-1 breadth-first search over reversed edges). */
function distancesTo(nfa: ByteNfa, end: number): Int32Array {
  const count = nfa.stateCount;
  const reverseEpsilon: number[][] = Array.from({ length: count }, () => []);
  const reverseByte: number[][] = Array.from({ length: count }, () => []);
  for (let state = 0; state < count; state++) {
    for (const target of nfa.epsilons[state] ?? []) reverseEpsilon[target]?.push(state);
    const edges = nfa.edges[state] ?? [];
    for (let i = 2; i < edges.length; i += 3) reverseByte[edges[i] ?? 0]?.push(state);
  }
  const distance = new Int32Array(count).fill(UNREACHABLE);
  distance[end] = 0;
  // A deque as two stacks by distance level: epsilon edges keep the level, bytes add one.
  let level: number[] = [end];
  let nextLevel: number[] = [];
  let current = 0;
  while (level.length > 0) {
    for (let state = level.pop(); state !== undefined; state = level.pop()) {
      if ((distance[state] ?? UNREACHABLE) !== current) continue;
      for (const previous of reverseEpsilon[state] ?? []) {
        if ((distance[previous] ?? UNREACHABLE) > current) {
          distance[previous] = current;
          level.push(previous);
        }
      }
      for (const previous of reverseByte[state] ?? []) {
        if ((distance[previous] ?? UNREACHABLE) > current + 1) {
          distance[previous] = current + 1;
          nextLevel.push(previous);
        }
      }
    }
    level = nextLevel;
    nextLevel = [];
    current += 1;
  }
  return distance;
}
