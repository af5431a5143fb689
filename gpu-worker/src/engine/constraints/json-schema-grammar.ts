/**
 * A JSON Schema (the subset `schemaProblems` in shared accepts) as a byte NFA whose every accepted
 * output parses as JSON and validates against the schema. The language is deliberately narrower
 * than "every valid document", which is what keeps it small and the model on track:
 *
 * - compact JSON: no whitespace but one optional space after `:` and `,` (no whitespace loops);
 * - object members in the order `properties` declares them, each at most once; required ones
 *   always, others optional; members the schema does not declare are never generated (free-form
 *   objects, without `properties`, take any keys);
 * - numbers with at most 16 integer and 16 fraction digits and a 3-digit exponent; integers
 *   without exponent; bounds as digit ranges;
 * - strings with `pattern`/`format` use only characters that need no escape;
 * - recursion (`$ref` to an enclosing schema) unrolled MAX_REF_DEPTH deep, an untyped value
 *   (`{}`, `true`) nested at most ANY_VALUE_DEPTH deep.
 */
import {
  type ConstraintProblem,
  type ENFORCED_FORMATS,
  lowerBound,
  MAX_REPEAT,
  schemaProblems,
  upperBound,
} from "@modelgate/shared";
import Ajv2020 from "ajv/dist/2020.js";
import type { ByteNfa, Fragment } from "./byte-nfa.js";
import { DEAD, LazyDfa } from "./lazy-dfa.js";
import { charactersNfa, importPattern, intersect, patternNfa } from "./regex-grammar.js";
import { MAX_CODE_POINT } from "./utf8.js";

/** How many times a recursive `$ref` is expanded inside itself. */
export const MAX_REF_DEPTH = 3;
/** How deep arrays and objects nest inside a value the schema leaves open (`{}`). */
export const ANY_VALUE_DEPTH = 3;
const INTEGER_DIGITS = 16;
const FRACTION_DIGITS = 16;
const EXPONENT_DIGITS = 3;
/** Product states searched to prove two oneOf branches disjoint. */
const MAX_DISJOINTNESS_STATES = 20_000;

/** Characters a JSON string holds without an escape. */
const UNESCAPED = [
  { min: 0x20, max: 0x21 },
  { min: 0x23, max: 0x5b },
  { min: 0x5d, max: MAX_CODE_POINT },
];
const DIGIT = [{ min: 0x30, max: 0x39 }];
const HEX = [
  { min: 0x30, max: 0x39 },
  { min: 0x41, max: 0x46 },
  { min: 0x61, max: 0x66 },
];

/** Each format as a whole-string pattern; each a subset of what the format allows. */
const FORMAT_PATTERNS: Record<(typeof ENFORCED_FORMATS)[number], string> = {
  // February stops at 28: no leap-year arithmetic, and every date it makes exists.
  date: "\\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)|02-(?:0[1-9]|1\\d|2[0-8]))",
  time: "(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d(?:\\.\\d{1,6})?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)",
  "date-time": "",
  uuid: "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
  email: "[a-z0-9_+-]{1,32}(?:\\.[a-z0-9_+-]{1,32}){0,2}@(?:[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?\\.){1,3}[a-z]{2,10}",
  ipv4: "(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)",
};
FORMAT_PATTERNS["date-time"] = `${FORMAT_PATTERNS.date}T${FORMAT_PATTERNS.time}`;

type Schema = Record<string, unknown> | boolean;
type Path = (string | number)[];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Builds `schema` into `nfa`; problems are what the compiler found that the keyword checks cannot. */
export function emitJsonSchema(
  nfa: ByteNfa,
  schema: unknown,
  path: Path,
): { fragment: Fragment; problems: ConstraintProblem[] } {
  const problems = schemaProblems(schema, path);
  if (problems.length > 0) return { fragment: nfa.never(), problems };
  const emitter = new SchemaEmitter(nfa, schema, problems);
  const fragment = emitter.value(schema as Schema, path);
  return { fragment, problems };
}

class SchemaEmitter {
  readonly #nfa: ByteNfa;
  readonly #root: unknown;
  readonly #problems: ConstraintProblem[];
  readonly #reported = new Set<string>();
  readonly #refDepth = new Map<string, number>();

  constructor(nfa: ByteNfa, root: unknown, problems: ConstraintProblem[]) {
    this.#nfa = nfa;
    this.#root = root;
    this.#problems = problems;
  }

  #problem(path: Path, message: string): void {
    const key = path.join("\u0000");
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#problems.push({ path, message });
  }

  value(schema: Schema, path: Path): Fragment {
    const nfa = this.#nfa;
    if (schema === true) return this.any(ANY_VALUE_DEPTH);
    if (schema === false) return nfa.never();
    if (typeof schema.$ref === "string") return this.#ref(schema.$ref, path);
    if (Array.isArray(schema.allOf)) return this.value(schema.allOf[0] as Schema, [...path, "allOf", 0]);
    if (Array.isArray(schema.anyOf)) {
      return nfa.union(schema.anyOf.map((branch, i) => this.value(branch as Schema, [...path, "anyOf", i])));
    }
    if (Array.isArray(schema.oneOf)) return this.#oneOf(schema.oneOf as Schema[], [...path, "oneOf"]);
    if (schema.enum !== undefined || schema.const !== undefined) return this.#literals(schema, path);
    const types = typesOf(schema);
    if (types === undefined) return this.any(ANY_VALUE_DEPTH);
    return nfa.union(types.map((type) => this.#typed(type, schema, path)));
  }

  #typed(type: string, schema: Record<string, unknown>, path: Path): Fragment {
    const nfa = this.#nfa;
    switch (type) {
      case "null":
        return nfa.literal("null");
      case "boolean":
        return nfa.union([nfa.literal("true"), nfa.literal("false")]);
      case "integer":
        return this.#integer(lowerBound(schema), upperBound(schema));
      case "number":
        return this.#number(schema);
      case "string":
        return this.#string(schema, path);
      case "array":
        return this.#array(schema, path);
      default:
        return this.#object(schema, path);
    }
  }

  /** Any JSON value, arrays and objects nested at most `depth` deep. */
  any(depth: number): Fragment {
    const nfa = this.#nfa;
    const scalars = [
      nfa.literal("null"),
      nfa.literal("true"),
      nfa.literal("false"),
      this.#number({}),
      this.#plainString(0, undefined),
    ];
    if (depth <= 0) return nfa.union(scalars);
    const items = nfa.repeat(
      () => this.any(depth - 1),
      0,
      undefined,
      () => this.#comma(),
    );
    const array = nfa.concat([nfa.literal("["), items, nfa.literal("]")]);
    const object = this.#freeObject(() => this.any(depth - 1), 0, undefined);
    return nfa.union([...scalars, array, object]);
  }

  #comma(): Fragment {
    return this.#nfa.concat([this.#nfa.literal(","), this.#space()]);
  }

  #space(): Fragment {
    return this.#nfa.optional(this.#nfa.literal(" "));
  }

  #ref(ref: string, path: Path): Fragment {
    const target = resolvePointer(this.#root, ref);
    if (target === undefined || (typeof target !== "boolean" && !isObject(target))) {
      this.#problem([...path, "$ref"], `${ref} does not resolve to a schema in this schema`);
      return this.#nfa.never();
    }
    const depth = this.#refDepth.get(ref) ?? 0;
    // Deeper recursion is not offered; a branch that needs it becomes one that cannot be taken.
    if (depth >= MAX_REF_DEPTH) return this.#nfa.never();
    this.#refDepth.set(ref, depth + 1);
    try {
      return this.value(target, [...path, "$ref"]);
    } finally {
      this.#refDepth.set(ref, depth);
    }
  }

  #oneOf(branches: Schema[], path: Path): Fragment {
    const fragments = branches.map((branch, i) => this.value(branch, [...path, i]));
    // oneOf is exclusive: a union enforces it only when no output matches two branches.
    for (let i = 0; i < fragments.length; i++) {
      for (let j = i + 1; j < fragments.length; j++) {
        const a = fragments[i];
        const b = fragments[j];
        if (a && b && !provablyDisjoint(this.#nfa, a, b)) {
          this.#problem(
            path,
            `branches ${i} and ${j} can match the same output; only disjoint oneOf branches can be enforced (use anyOf)`,
          );
        }
      }
    }
    return this.#nfa.union(fragments);
  }

  #literals(schema: Record<string, unknown>, path: Path): Fragment {
    const values = schema.const !== undefined ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
    const { enum: _enum, const: _const, ...rest } = schema;
    // Values the schema's other keywords reject are not offered (Ajv decides, as the judge does).
    const validate = validatorFor(rest, this.#root);
    const allowed = values.filter((value) => validate(value));
    if (allowed.length === 0) {
      this.#problem(
        [...path, schema.const !== undefined ? "const" : "enum"],
        "no value here satisfies the rest of the schema",
      );
      return this.#nfa.never();
    }
    return this.#nfa.union(allowed.map((value) => this.#nfa.literal(JSON.stringify(value))));
  }

  #digits(min: number, max: number): Fragment {
    return this.#nfa.repeat(() => this.#nfa.codePoints(DIGIT), min, max);
  }

  /** `0` or a number without leading zeros, at most INTEGER_DIGITS long. */
  #unsignedInteger(): Fragment {
    const nfa = this.#nfa;
    return nfa.union([
      nfa.literal("0"),
      nfa.concat([nfa.codePoints([{ min: 0x31, max: 0x39 }]), this.#digits(0, INTEGER_DIGITS - 1)]),
    ]);
  }

  #integer(low: number | undefined, high: number | undefined): Fragment {
    const nfa = this.#nfa;
    const limit = 10 ** INTEGER_DIGITS - 1;
    const lo = Math.max(low ?? -limit, -limit);
    const hi = Math.min(high ?? limit, limit);
    if (lo > hi) return nfa.never();
    if (low === undefined && high === undefined) {
      return nfa.concat([nfa.optional(nfa.literal("-")), this.#unsignedInteger()]);
    }
    const parts: Fragment[] = [];
    if (lo < 0) parts.push(nfa.concat([nfa.literal("-"), this.#range(Math.max(1, -Math.min(hi, -1)), -lo)]));
    if (hi >= 0) parts.push(this.#range(Math.max(lo, 0), hi));
    return nfa.union(parts);
  }

  /** Decimal numerals (no leading zeros) of every integer in [low, high], 0 ≤ low ≤ high. */
  #range(low: number, high: number): Fragment {
    const nfa = this.#nfa;
    const parts: Fragment[] = [];
    const lowLength = String(low).length;
    const highLength = String(high).length;
    for (let length = lowLength; length <= highLength; length++) {
      const from = Math.max(low, length === 1 ? 0 : 10 ** (length - 1));
      const to = Math.min(high, 10 ** length - 1);
      if (from <= to) parts.push(this.#sameLength(String(from), String(to)));
    }
    return nfa.union(parts);
  }

  #sameLength(low: string, high: string): Fragment {
    const nfa = this.#nfa;
    if (low.length === 0) return nfa.empty();
    if (/^0*$/.test(low) && /^9*$/.test(high)) return this.#digits(low.length, low.length);
    const first = Number(low[0]);
    const last = Number(high[0]);
    const rest = low.length - 1;
    if (first === last) return nfa.concat([nfa.literal(String(first)), this.#sameLength(low.slice(1), high.slice(1))]);
    const parts = [nfa.concat([nfa.literal(String(first)), this.#sameLength(low.slice(1), "9".repeat(rest))])];
    if (last - first > 1) {
      parts.push(
        nfa.concat([nfa.codePoints([{ min: 0x30 + first + 1, max: 0x30 + last - 1 }]), this.#digits(rest, rest)]),
      );
    }
    parts.push(nfa.concat([nfa.literal(String(last)), this.#sameLength("0".repeat(rest), high.slice(1))]));
    return nfa.union(parts);
  }

  #number(schema: Record<string, unknown>): Fragment {
    const nfa = this.#nfa;
    const fraction = () => nfa.concat([nfa.literal("."), this.#digits(1, FRACTION_DIGITS)]);
    const bounded = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].some(
      (key) => schema[key] !== undefined,
    );
    if (!bounded) {
      const exponent = nfa.concat([
        nfa.codePoints([
          { min: 0x45, max: 0x45 },
          { min: 0x65, max: 0x65 },
        ]),
        nfa.optional(
          nfa.codePoints([
            { min: 0x2b, max: 0x2b },
            { min: 0x2d, max: 0x2d },
          ]),
        ),
        this.#digits(1, EXPONENT_DIGITS),
      ]);
      return nfa.concat([
        nfa.optional(nfa.literal("-")),
        this.#unsignedInteger(),
        nfa.optional(fraction()),
        nfa.optional(exponent),
      ]);
    }
    // Non-negative integer bounds (the keyword checks allow no others on numbers): an integer
    // part n with any fraction, n = L with a non-zero fraction when L is exclusive, n = U with a
    // zero fraction when U is inclusive.
    const limit = 10 ** INTEGER_DIGITS - 1;
    const lowInclusive =
      typeof schema.exclusiveMinimum === "number" ? undefined : (schema.minimum as number | undefined);
    const lowExclusive = typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum : undefined;
    const highInclusive =
      typeof schema.exclusiveMaximum === "number" ? undefined : (schema.maximum as number | undefined);
    const highExclusive = typeof schema.exclusiveMaximum === "number" ? schema.exclusiveMaximum : undefined;
    let low = lowExclusive !== undefined ? lowExclusive + 1 : (lowInclusive ?? 0);
    if (lowExclusive !== undefined && lowInclusive !== undefined) low = Math.max(low, lowInclusive);
    const high = highExclusive ?? highInclusive;
    const top = high === undefined ? limit : high - 1;
    const parts: Fragment[] = [];
    if (low <= top) parts.push(nfa.concat([this.#range(low, top), nfa.optional(fraction())]));
    if (lowExclusive !== undefined && (high === undefined || lowExclusive <= top)) {
      const nonZero = nfa.concat([
        nfa.literal("."),
        this.#digits(0, FRACTION_DIGITS - 1),
        nfa.codePoints([{ min: 0x31, max: 0x39 }]),
      ]);
      parts.push(nfa.concat([nfa.literal(String(lowExclusive)), nonZero]));
    }
    if (highInclusive !== undefined && highExclusive === undefined && highInclusive >= low) {
      const zeros = nfa.optional(
        nfa.concat([nfa.literal("."), nfa.repeat(() => nfa.literal("0"), 1, FRACTION_DIGITS)]),
      );
      parts.push(nfa.concat([nfa.literal(String(highInclusive)), zeros]));
    }
    return nfa.union(parts);
  }

  /** One character of a JSON string's text: unescaped, or an escape (no lone surrogates). */
  #stringCharacter(): Fragment {
    const nfa = this.#nfa;
    const simpleEscape = nfa.codePoints([...'"\\/bfnrt'].map((c) => ({ min: c.charCodeAt(0), max: c.charCodeAt(0) })));
    const notSurrogate = nfa.union([
      nfa.concat([
        nfa.codePoints([
          { min: 0x30, max: 0x39 },
          { min: 0x41, max: 0x43 },
          { min: 0x45, max: 0x46 },
          { min: 0x61, max: 0x63 },
          { min: 0x65, max: 0x66 },
        ]),
        nfa.repeat(() => nfa.codePoints(HEX), 3, 3),
      ]),
      nfa.concat([
        nfa.codePoints([
          { min: 0x44, max: 0x44 },
          { min: 0x64, max: 0x64 },
        ]),
        nfa.codePoints([{ min: 0x30, max: 0x37 }]),
        nfa.repeat(() => nfa.codePoints(HEX), 2, 2),
      ]),
    ]);
    const unicodeEscape = nfa.concat([nfa.literal("u"), notSurrogate]);
    return nfa.union([
      nfa.codePoints(UNESCAPED),
      nfa.concat([nfa.literal("\\"), nfa.union([simpleEscape, unicodeEscape])]),
    ]);
  }

  #plainString(min: number, max: number | undefined): Fragment {
    const nfa = this.#nfa;
    return nfa.concat([nfa.literal('"'), nfa.repeat(() => this.#stringCharacter(), min, max), nfa.literal('"')]);
  }

  #string(schema: Record<string, unknown>, path: Path): Fragment {
    const min = typeof schema.minLength === "number" ? schema.minLength : 0;
    const max = typeof schema.maxLength === "number" ? Math.min(schema.maxLength, MAX_REPEAT) : undefined;
    const pattern = typeof schema.pattern === "string" ? schema.pattern : undefined;
    const format = typeof schema.format === "string" ? (schema.format as keyof typeof FORMAT_PATTERNS) : undefined;
    if (pattern === undefined && format === undefined) return this.#plainString(min, max);
    // Text a pattern or format constrains is generated unescaped, so the raw text is the value.
    let content = charactersNfa(UNESCAPED, MAX_CODE_POINT, min, max ?? Number.POSITIVE_INFINITY);
    for (const [keyword, source, search] of [
      ["pattern", pattern, true],
      ["format", format === undefined ? undefined : FORMAT_PATTERNS[format], false],
    ] as const) {
      if (source === undefined) continue;
      const compiled = patternNfa(source, "u", search);
      if (!compiled.ok) {
        this.#problem([...path, keyword], compiled.error);
        return this.#nfa.never();
      }
      try {
        content = intersect(content, compiled.value);
      } catch {
        this.#problem([...path, keyword], "is too large to enforce together with the string's other keywords");
        return this.#nfa.never();
      }
    }
    if (content.isEmpty) {
      this.#problem(path, "no string satisfies pattern, format and length together (unescaped characters only)");
      return this.#nfa.never();
    }
    const nfa = this.#nfa;
    return nfa.concat([nfa.literal('"'), importPattern(nfa, content), nfa.literal('"')]);
  }

  #array(schema: Record<string, unknown>, path: Path): Fragment {
    const nfa = this.#nfa;
    const prefix = Array.isArray(schema.prefixItems) ? (schema.prefixItems as Schema[]) : [];
    const items = schema.items === undefined ? true : (schema.items as Schema);
    const minItems = typeof schema.minItems === "number" ? schema.minItems : 0;
    const maxItems = typeof schema.maxItems === "number" ? Math.min(schema.maxItems, MAX_REPEAT) : undefined;
    const item = (index: number) =>
      index < prefix.length
        ? this.value(prefix[index] ?? true, [...path, "prefixItems", index])
        : this.value(items, [...path, "items"]);
    const open = nfa.literal("[");
    const close = nfa.literal("]");
    let at = open.end;
    let count = 0;
    for (; count < prefix.length && (maxItems === undefined || count < maxItems); count++) {
      if (count >= minItems) nfa.link(at, close.start);
      const next = count === 0 ? item(count) : nfa.concat([this.#comma(), item(count)]);
      nfa.link(at, next.start);
      at = next.end;
    }
    const more = items !== false && (maxItems === undefined || count < maxItems);
    if (more) {
      const restMin = Math.max(0, minItems - count);
      const restMax = maxItems === undefined ? undefined : maxItems - count;
      const rest =
        count === 0
          ? nfa.repeat(
              () => item(count),
              restMin,
              restMax,
              () => this.#comma(),
            )
          : nfa.repeat(() => nfa.concat([this.#comma(), item(count)]), restMin, restMax);
      nfa.link(at, rest.start);
      nfa.link(rest.end, close.start);
    } else if (count >= minItems) {
      nfa.link(at, close.start);
    }
    return { start: open.start, end: close.end };
  }

  #member(name: string, value: () => Fragment): Fragment {
    const nfa = this.#nfa;
    return nfa.concat([nfa.literal(JSON.stringify(name)), nfa.literal(":"), this.#space(), value()]);
  }

  /** `{"key": value, …}` with any keys, between `min` and `max` members. */
  #freeObject(value: () => Fragment, min: number, max: number | undefined): Fragment {
    const nfa = this.#nfa;
    const member = () => nfa.concat([this.#plainString(0, undefined), nfa.literal(":"), this.#space(), value()]);
    return nfa.concat([nfa.literal("{"), nfa.repeat(member, min, max, () => this.#comma()), nfa.literal("}")]);
  }

  #object(schema: Record<string, unknown>, path: Path): Fragment {
    const nfa = this.#nfa;
    const properties = isObject(schema.properties) ? schema.properties : undefined;
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const additional = (schema.additionalProperties ?? true) as Schema;
    const undeclared = [...required].filter((name) => !properties || !Object.hasOwn(properties, name));
    if (properties === undefined && undeclared.length === 0) {
      if (additional === false) return nfa.literal("{}");
      const min = typeof schema.minProperties === "number" ? schema.minProperties : 0;
      const max = typeof schema.maxProperties === "number" ? Math.min(schema.maxProperties, MAX_REPEAT) : undefined;
      return this.#freeObject(() => this.value(additional, [...path, "additionalProperties"]), min, max);
    }
    const members: [string, () => Fragment][] = [
      ...Object.entries(properties ?? {}).map(
        ([name, sub]) =>
          [name, () => this.value(sub as Schema, [...path, "properties", name])] as [string, () => Fragment],
      ),
      // Required but not declared: the value is whatever additionalProperties allows.
      ...undeclared.map(
        (name) => [name, () => this.value(additional, [...path, "additionalProperties"])] as [string, () => Fragment],
      ),
    ];
    // after[k] / none[k]: the state before member k, with / without a member written before it.
    const close = nfa.literal("}");
    let after = close.start;
    let none = close.start;
    for (let k = members.length - 1; k >= 0; k--) {
      const [name, value] = members[k] ?? ["", () => nfa.never()];
      const optional = !required.has(name);
      const afterK = nfa.addState();
      const noneK = nfa.addState();
      const following = nfa.concat([this.#comma(), this.#member(name, value)]);
      nfa.link(afterK, following.start);
      nfa.link(following.end, after);
      const first = this.#member(name, value);
      nfa.link(noneK, first.start);
      nfa.link(first.end, after);
      if (optional) {
        nfa.link(afterK, after);
        nfa.link(noneK, none);
      }
      after = afterK;
      none = noneK;
    }
    const open = nfa.literal("{");
    nfa.link(open.end, none);
    return { start: open.start, end: close.end };
  }
}

/** The types a schema generates: its `type`, else those its keywords imply, else undefined (any). */
function typesOf(schema: Record<string, unknown>): string[] | undefined {
  if (schema.type !== undefined)
    return Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const has = (...keys: string[]) => keys.some((key) => schema[key] !== undefined);
  const implied: string[] = [];
  if (
    has("properties", "required", "additionalProperties", "minProperties", "maxProperties", "unevaluatedProperties")
  ) {
    implied.push("object");
  }
  if (has("items", "prefixItems", "minItems", "maxItems")) implied.push("array");
  if (has("minLength", "maxLength", "pattern", "format")) implied.push("string");
  if (has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")) implied.push("number");
  return implied.length > 0 ? implied : undefined;
}

/** A `#`-pointer inside `root` (RFC 6901, percent-decoded as a URI fragment). */
function resolvePointer(root: unknown, ref: string): unknown {
  if (ref === "#") return root;
  let at: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (Array.isArray(at)) at = at[Number(key)];
    else if (isObject(at) && Object.hasOwn(at, key)) at = at[key];
    else return undefined;
  }
  return at;
}

/** Ajv over a subschema, with the root's definitions so that its `$ref`s resolve. */
function validatorFor(schema: Record<string, unknown>, root: unknown): (value: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, logger: false, validateFormats: false, validateSchema: false });
  const body: Record<string, unknown> = {};
  if (isObject(root)) {
    for (const key of ["$defs", "definitions"]) if (root[key] !== undefined) body[key] = root[key];
  }
  for (const [key, value] of Object.entries(schema)) if (key !== "$schema" && key !== "$id") body[key] = value;
  try {
    const validate = ajv.compile(body);
    return (value) => validate(value) === true;
  } catch {
    return () => true;
  }
}

/** Whether no output is accepted by both fragments (a breadth-first search of their product). */
function provablyDisjoint(nfa: ByteNfa, a: Fragment, b: Fragment): boolean {
  const left = new LazyDfa(nfa, a);
  const right = new LazyDfa(nfa, b);
  if (left.start === DEAD || right.start === DEAD) return true;
  const seen = new Set<number>([left.start * 65_536 + right.start]);
  const queue: [number, number][] = [[left.start, right.start]];
  for (let head = 0; head < queue.length; head++) {
    const [x, y] = queue[head] ?? [DEAD, DEAD];
    if (left.accepting(x) && right.accepting(y)) return false;
    for (let byte = 0; byte < 256; byte++) {
      const nx = left.next(x, byte);
      if (nx === DEAD) continue;
      const ny = right.next(y, byte);
      if (ny === DEAD) continue;
      const key = nx * 65_536 + ny;
      if (seen.has(key)) continue;
      if (seen.size >= MAX_DISJOINTNESS_STATES) return false;
      seen.add(key);
      queue.push([nx, ny]);
    }
  }
  return true;
}
