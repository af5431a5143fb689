/**
 * A nondeterministic automaton over bytes, built Thompson-style from fragments (one start and
 * one end state each) joined by epsilon edges. Every constraint (JSON Schema, regex, choice, tool
 * calls) compiles to one of these; `LazyDfa` determinizes it as decoding visits its states.
 *
 * Fragments are graphs, not trees: a fragment may be wired into several others (the optional
 * properties of an object share their tails), so building is linear in the schema where a
 * regular expression over the same language would repeat itself.
 */
import { type ByteSequence, type CodePointRange, utf8Sequences } from "./utf8.js";

/** States one constraint may build: past this the schema is refused as too large to enforce. */
export const MAX_NFA_STATES = 250_000;

export class AutomatonTooLargeError extends Error {
  constructor(what: string, limit: number) {
    super(`${what} needs more than ${limit} automaton states`);
  }
}

export interface Fragment {
  readonly start: number;
  readonly end: number;
}

export class ByteNfa {
  /** Epsilon targets per state. */
  readonly epsilons: number[][] = [];
  /** Byte edges per state, flattened as `low, high, target` triples. */
  readonly edges: number[][] = [];

  get stateCount(): number {
    return this.epsilons.length;
  }

  addState(): number {
    if (this.epsilons.length >= MAX_NFA_STATES) throw new AutomatonTooLargeError("the constraint", MAX_NFA_STATES);
    this.epsilons.push([]);
    this.edges.push([]);
    return this.epsilons.length - 1;
  }

  link(from: number, to: number): void {
    this.epsilons[from]?.push(to);
  }

  addBytes(from: number, low: number, high: number, to: number): void {
    this.edges[from]?.push(low, high, to);
  }

  /** Accepts the empty string. */
  empty(): Fragment {
    const start = this.addState();
    const end = this.addState();
    this.link(start, end);
    return { start, end };
  }

  /** Accepts nothing (a branch that cannot be taken). */
  never(): Fragment {
    return { start: this.addState(), end: this.addState() };
  }

  /** One byte sequence from `from` to `to`. */
  sequenceBetween(sequence: ByteSequence, from: number, to: number): void {
    let at = from;
    sequence.forEach(([low, high], i) => {
      const next = i === sequence.length - 1 ? to : this.addState();
      this.addBytes(at, low, high, next);
      at = next;
    });
  }

  /** Any one character in `ranges`, between two existing states. */
  codePointsBetween(ranges: readonly CodePointRange[], from: number, to: number): void {
    for (const sequence of utf8Sequences(ranges)) this.sequenceBetween(sequence, from, to);
  }

  /** Any one character in `ranges`. */
  codePoints(ranges: readonly CodePointRange[]): Fragment {
    const start = this.addState();
    const end = this.addState();
    this.codePointsBetween(ranges, start, end);
    return { start, end };
  }

  /** Exactly these bytes. */
  bytes(bytes: Uint8Array): Fragment {
    const start = this.addState();
    let at = start;
    for (const byte of bytes) {
      const next = this.addState();
      this.addBytes(at, byte, byte, next);
      at = next;
    }
    return { start, end: at };
  }

  /** Exactly `text`, UTF-8 encoded. */
  literal(text: string): Fragment {
    return this.bytes(new TextEncoder().encode(text));
  }

  concat(parts: readonly Fragment[]): Fragment {
    const [first, ...rest] = parts;
    if (first === undefined) return this.empty();
    let end = first.end;
    for (const part of rest) {
      this.link(end, part.start);
      end = part.end;
    }
    return { start: first.start, end };
  }

  union(parts: readonly Fragment[]): Fragment {
    const start = this.addState();
    const end = this.addState();
    for (const part of parts) {
      this.link(start, part.start);
      this.link(part.end, end);
    }
    return { start, end };
  }

  optional(part: Fragment): Fragment {
    return this.union([part, this.empty()]);
  }

  /** Zero or more times. */
  star(part: Fragment): Fragment {
    const start = this.addState();
    const end = this.addState();
    this.link(start, part.start);
    this.link(start, end);
    this.link(part.end, start);
    return { start, end };
  }

  /**
   * Between `min` and `max` (unbounded when undefined) copies of what `make` builds, with
   * `separator` between consecutive copies when given (array items, object members).
   */
  repeat(make: () => Fragment, min: number, max: number | undefined, separator?: () => Fragment): Fragment {
    if (max !== undefined && max < min) return this.never();
    if (max === 0) return this.empty();
    const item = () => make();
    const joined = () => (separator ? this.concat([separator(), item()]) : item());
    if (min === 0) return this.optional(this.repeat(make, 1, max, separator));
    if (max === undefined) {
      // The last required copy loops back to itself (through the separator): one copy, not two,
      // which keeps nested open-ended values (arrays of objects of arrays) linear in size.
      const required: Fragment[] = [];
      for (let i = 1; i < min; i++) required.push(i === 1 ? item() : joined());
      const looped = item();
      const back = separator ? separator() : undefined;
      if (back) {
        this.link(looped.end, back.start);
        this.link(back.end, looped.start);
      } else {
        this.link(looped.end, looped.start);
      }
      if (required.length === 0) return looped;
      const head = this.concat(required);
      const between = separator ? separator() : this.empty();
      return this.concat([head, between, looped]);
    }
    const required: Fragment[] = [item()];
    for (let i = 1; i < min; i++) required.push(joined());
    const head = this.concat(required);
    // Each further copy may be the last: every point between copies has an exit to the end.
    const end = this.addState();
    this.link(head.end, end);
    let at = head.end;
    for (let i = min; i < max; i++) {
      const next = joined();
      this.link(at, next.start);
      this.link(next.end, end);
      at = next.end;
    }
    return { start: head.start, end };
  }
}
