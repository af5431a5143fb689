/**
 * A request's `constraint` (or an enforcing json_schema judge) compiled to an automaton, once per
 * spec (cached). The worker's HTTP process compiles to check a request before any inference
 * (unsupported keyword or unsatisfiable: 400); the inference thread compiles the same spec from
 * its own cache and pairs it with the model's vocabulary (`TokenConstraint`, cached per
 * (spec, tokenizer)).
 */
import {
  type ConstraintProblem,
  type ConstraintSpec,
  constraintProblems,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
  TOOL_CALL_SEPARATOR,
} from "@modelgate/shared";
import { AutomatonTooLargeError, ByteNfa, type Fragment } from "./byte-nfa.js";
import { emitJsonSchema } from "./json-schema-grammar.js";
import { DEAD, LazyDfa } from "./lazy-dfa.js";
import { importPattern, patternNfa } from "./regex-grammar.js";
import { MAX_CODE_POINT } from "./utf8.js";

export interface CompiledConstraint {
  readonly key: string;
  readonly dfa: LazyDfa;
  readonly nfaStates: number;
  readonly compileMs: number;
  /** Fewest bytes of any complete output. */
  readonly minimumBytes: number;
}

/** Compiled specs kept, by their JSON: tool schemas and response formats repeat across requests. */
export const CONSTRAINT_CACHE_SIZE = 64;
const cache = new Map<string, CompiledConstraint>();

/** The cache key of a spec (its JSON). */
export function constraintKey(spec: ConstraintSpec): string {
  return JSON.stringify(spec);
}

export function compileConstraint(
  spec: ConstraintSpec,
): { ok: true; value: CompiledConstraint } | { ok: false; problems: ConstraintProblem[] } {
  const key = constraintKey(spec);
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return { ok: true, value: cached };
  }
  const problems = constraintProblems(spec);
  if (problems.length > 0) return { ok: false, problems };
  const started = performance.now();
  const nfa = new ByteNfa();
  let fragment: Fragment;
  try {
    const built = emit(nfa, spec);
    if (built.problems.length > 0) return { ok: false, problems: built.problems };
    fragment = built.fragment;
  } catch (error) {
    if (error instanceof AutomatonTooLargeError)
      return { ok: false, problems: [{ path: [], message: `is too large to enforce: ${error.message}` }] };
    throw error;
  }
  const dfa = new LazyDfa(nfa, fragment);
  if (dfa.start === DEAD)
    return { ok: false, problems: [{ path: [], message: "can never be satisfied: no output matches it" }] };
  const compiled: CompiledConstraint = {
    key,
    dfa,
    nfaStates: nfa.stateCount,
    compileMs: performance.now() - started,
    minimumBytes: dfa.distance(dfa.start),
  };
  cache.set(key, compiled);
  if (cache.size > CONSTRAINT_CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  return { ok: true, value: compiled };
}

function emit(nfa: ByteNfa, spec: ConstraintSpec): { fragment: Fragment; problems: ConstraintProblem[] } {
  switch (spec.type) {
    case "json_schema":
      return emitJsonSchema(nfa, spec.schema, ["schema"]);
    case "regex": {
      const compiled = patternNfa(spec.pattern, spec.flags ?? "", false);
      if (!compiled.ok) return { fragment: nfa.never(), problems: [{ path: ["pattern"], message: compiled.error }] };
      return { fragment: importPattern(nfa, compiled.value), problems: [] };
    }
    case "choice":
      return { fragment: nfa.union(spec.choices.map((choice) => nfa.literal(choice))), problems: [] };
    case "tool_calls":
      return emitToolCalls(nfa, spec);
  }
}

/**
 * Tool calls: `<tool_call>{"name":"…","arguments":{…}}</tool_call>`, one, or (parallel) several
 * separated by newlines, each tool's arguments under its own schema. `auto` also allows plain
 * text that does not start with `<tool_call>`; `none` only that text.
 */
function emitToolCalls(
  nfa: ByteNfa,
  spec: Extract<ConstraintSpec, { type: "tool_calls" }>,
): { fragment: Fragment; problems: ConstraintProblem[] } {
  const choice = spec.tool_choice;
  if (choice === "none") return { fragment: textNotStartingWith(nfa, TOOL_CALL_OPEN), problems: [] };
  const named = typeof choice === "object" ? choice.name : undefined;
  const problems: ConstraintProblem[] = [];
  const call = (): Fragment =>
    nfa.union(
      spec.tools.flatMap((tool, index) => {
        if (named !== undefined && tool.name !== named) return [];
        const parameters = tool.parameters ?? { type: "object", properties: {}, additionalProperties: false };
        const args = emitJsonSchema(nfa, parameters, ["tools", index, "parameters"]);
        problems.push(...args.problems);
        const space = () => nfa.optional(nfa.literal(" "));
        return [
          nfa.concat([
            nfa.literal(`${TOOL_CALL_OPEN}{"name":`),
            space(),
            nfa.literal(`${JSON.stringify(tool.name)},`),
            space(),
            nfa.literal('"arguments":'),
            space(),
            args.fragment,
            nfa.literal(`}${TOOL_CALL_CLOSE}`),
          ]),
        ];
      }),
    );
  const calls = spec.parallel ? nfa.repeat(call, 1, undefined, () => nfa.literal(TOOL_CALL_SEPARATOR)) : call();
  // Each tool's problems are reported once, not once per copy.
  const unique = [...new Map(problems.map((p) => [`${p.path.join("/")}:${p.message}`, p])).values()];
  if (choice === "auto")
    return { fragment: nfa.union([textNotStartingWith(nfa, TOOL_CALL_OPEN), calls]), problems: unique };
  return { fragment: calls, problems: unique };
}

/** Any text (valid UTF-8) that does not begin with `trigger` (ASCII); a prefix of it is text too. */
function textNotStartingWith(nfa: ByteNfa, trigger: string): Fragment {
  const end = nfa.addState();
  const free = nfa.addState();
  nfa.codePointsBetween([{ min: 0, max: MAX_CODE_POINT }], free, free);
  nfa.link(free, end);
  const start = nfa.addState();
  let at = start;
  for (let i = 0; i < trigger.length; i++) {
    const code = trigger.charCodeAt(i);
    nfa.link(at, end);
    nfa.codePointsBetween(
      [
        { min: 0, max: code - 1 },
        { min: code + 1, max: MAX_CODE_POINT },
      ],
      at,
      free,
    );
    if (i < trigger.length - 1) {
      const next = nfa.addState();
      nfa.addBytes(at, code, code, next);
      at = next;
    }
  }
  return { start, end };
}
