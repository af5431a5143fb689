/**
 * JavaScript regular expressions as automata, through refa (a maintained library for finite
 * automata over JS RegExp syntax: parsing with @eslint-community/regexpp, case folding, Unicode
 * sets, intersection). refa gives an NFA over code points; `importPattern` copies it into the
 * byte NFA, each character set becoming its UTF-8 byte sequences.
 *
 * What cannot be enforced by a finite automaton is refused: backreferences, lookarounds, `\b`,
 * and `^`/`$` anywhere but at the ends of the pattern's top-level alternatives.
 */
import { err, ok, type Result } from "@modelgate/shared";
import { CharSet, JS, NFA } from "refa";
import type { ByteNfa, Fragment } from "./byte-nfa.js";

/** Nodes refa may create for one pattern (its own guard against blow-up). */
const MAX_PATTERN_NODES = 50_000;

type Alternative = JS.ParseResult["expression"]["alternatives"][number];
type Element = Alternative["elements"][number];

/** `^` (start) or `$` (end) without the `m` flag, as refa's parser writes them. */
function edgeAssertion(element: Element | undefined): "start" | "end" | undefined {
  if (element?.type !== "Assertion" || !element.negate) return undefined;
  const [only] = element.alternatives;
  const [char] = only?.elements ?? [];
  if (element.alternatives.length !== 1 || only?.elements.length !== 1 || char?.type !== "CharacterClass") {
    return undefined;
  }
  if (!char.characters.isAll) return undefined;
  return element.kind === "behind" ? "start" : "end";
}

/**
 * The pattern as a refa NFA over code points. `search`: JSON Schema's `pattern` (matches anywhere
 * unless anchored); otherwise the whole text must match (a regex constraint).
 */
export function patternNfa(source: string, flags: string, search: boolean): Result<NFA, string> {
  try {
    const first = JS.Parser.fromLiteral({ source, flags }).parse({
      backreferences: "throw",
      maxBackreferenceWords: 0,
      assertions: "parse",
      simplify: false,
    });
    const rewritten = first.expression.alternatives.map((alternative) => {
      const elements = [...alternative.elements];
      const anchoredStart = edgeAssertion(elements[0]) === "start";
      if (anchoredStart) elements.shift();
      const anchoredEnd = edgeAssertion(elements[elements.length - 1]) === "end";
      if (anchoredEnd) elements.pop();
      const head = elements[0];
      const tail = elements[elements.length - 1];
      const inner = head?.source && tail?.source ? source.slice(head.source.start, tail.source.end) : "";
      const anything = "[^]*";
      return `${search && !anchoredStart ? anything : ""}(?:${inner})${search && !anchoredEnd ? anything : ""}`;
    });
    const parsed = JS.Parser.fromLiteral({ source: rewritten.join("|"), flags }).parse({
      backreferences: "throw",
      maxBackreferenceWords: 0,
      assertions: "throw",
      simplify: true,
    });
    return ok(
      NFA.fromRegex(
        parsed.expression,
        { maxCharacter: parsed.maxCharacter },
        {},
        new NFA.LimitedNodeFactory(MAX_PATTERN_NODES),
      ),
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/assertion/i.test(message)) {
      return err("uses an assertion that cannot be enforced (lookarounds, \\b, or ^/$ inside the pattern)");
    }
    if (/backreference/i.test(message)) return err("uses a backreference, which cannot be enforced");
    if (/too many nodes/i.test(message)) return err("is too large to enforce");
    return err(`cannot be enforced: ${message}`);
  }
}

/** `pattern` ∩ `restriction` (e.g. JSON-safe characters, a length), both over the same alphabet. */
export function intersect(pattern: NFA, restriction: NFA): NFA {
  return NFA.fromIntersection(pattern, restriction, new NFA.LimitedNodeFactory(MAX_PATTERN_NODES));
}

/** A refa NFA for `[chars]{min,max}` over `maxCharacter`. */
export function charactersNfa(
  ranges: readonly { min: number; max: number }[],
  maxCharacter: number,
  min: number,
  max: number,
): NFA {
  const set = CharSet.empty(maxCharacter).union(
    ranges.map((range) => ({ min: range.min, max: Math.min(range.max, maxCharacter) })),
  );
  const nfa = NFA.fromCharSet(set, new NFA.LimitedNodeFactory(MAX_PATTERN_NODES));
  nfa.quantify(min, max, new NFA.LimitedNodeFactory(MAX_PATTERN_NODES));
  return nfa;
}

/** Copies a refa NFA into the byte NFA: one state per node, UTF-8 sequences per character set. */
export function importPattern(bytes: ByteNfa, pattern: NFA): Fragment {
  const start = bytes.addState();
  const end = bytes.addState();
  const states = new Map<NFA.ReadonlyNode, number>();
  const stateOf = (node: NFA.ReadonlyNode) => {
    let state = states.get(node);
    if (state === undefined) {
      state = bytes.addState();
      states.set(node, state);
    }
    return state;
  };
  bytes.link(start, stateOf(pattern.initial));
  for (const node of pattern.nodes()) {
    const from = stateOf(node);
    for (const [target, characters] of node.out) bytes.codePointsBetween(characters.ranges, from, stateOf(target));
    if (pattern.finals.has(node)) bytes.link(from, end);
  }
  return { start, end };
}
