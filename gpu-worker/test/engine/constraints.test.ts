/**
 * The constraint compiler against an independent validator: random walks through each compiled
 * automaton (any byte it allows, a shortest way out when the walk runs long) must all parse and
 * validate with Ajv; token masks over a byte-level vocabulary whose tokens split UTF-8 characters
 * and span grammar boundaries allow exactly the tokens whose bytes the automaton takes.
 */
import type { ConstraintSpec } from "@modelgate/shared";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { compileConstraint } from "../../src/engine/constraints/compile-constraint.js";
import { DEAD, type LazyDfa } from "../../src/engine/constraints/lazy-dfa.js";
import { ConstraintCursor, TokenConstraint } from "../../src/engine/constraints/token-masks.js";
import { VocabularyTrie } from "../../src/engine/constraints/token-vocabulary.js";
import { encodeUtf8, utf8Sequences } from "../../src/engine/constraints/utf8.js";
import { mulberry32 } from "../../src/random/seeded-random.js";

function compiled(spec: ConstraintSpec): LazyDfa {
  const result = compileConstraint(spec);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.value.dfa;
}

/** One random output of the automaton, at most about `budget` bytes. */
function randomOutput(dfa: LazyDfa, random: () => number, budget = 300): string {
  const bytes: number[] = [];
  let state = dfa.start;
  for (;;) {
    const options: number[] = [];
    for (let byte = 0; byte < 256; byte++) if (dfa.next(state, byte) !== DEAD) options.push(byte);
    if (dfa.accepting(state) && (options.length === 0 || random() < 0.15)) break;
    const closest = (a: number, b: number) =>
      dfa.distance(dfa.next(state, b)) < dfa.distance(dfa.next(state, a)) ? b : a;
    const byte =
      dfa.distance(state) >= budget - bytes.length
        ? options.reduce(closest)
        : (options[Math.floor(random() * options.length)] ?? 0);
    bytes.push(byte);
    state = dfa.next(state, byte);
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
}

const FORMAT_CHECKS: Record<string, RegExp> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  "date-time": /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  email: /^[^@\s]+@[^@\s]+\.[a-z]+$/,
  ipv4: /^(\d{1,3}\.){3}\d{1,3}$/,
};

const SCHEMAS: (Record<string, unknown> | boolean)[] = [
  { type: "object", properties: { status: { type: "string" } }, required: ["status"] },
  {
    type: "object",
    properties: {
      a: { type: "integer", minimum: -5, maximum: 120 },
      b: { type: "boolean" },
      c: { enum: ["x", 1, null, { k: [1, 2] }] },
      d: { const: "fixed" },
      e: { type: ["string", "null"], minLength: 2, maxLength: 4 },
    },
    required: ["b", "d"],
    additionalProperties: false,
  },
  {
    type: "array",
    prefixItems: [{ type: "string" }, { type: "integer" }],
    items: { type: "boolean" },
    minItems: 1,
    maxItems: 4,
  },
  { type: "array", items: { type: "number", minimum: 0, exclusiveMaximum: 10 }, minItems: 2, maxItems: 5 },
  { type: "number", exclusiveMinimum: 2, maximum: 3 },
  { type: "integer", minimum: -1000, maximum: -17 },
  { type: "integer", minimum: 0, maximum: 9_007_199_254_740_991 },
  { type: "string", pattern: "^[a-z]+-\\d{2}$" },
  { type: "string", pattern: "ab?c", maxLength: 6 },
  ...Object.keys(FORMAT_CHECKS).map((format) => ({ type: "string", format })),
  {
    $defs: {
      node: {
        type: "object",
        properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: "#/$defs/node" } } },
        required: ["v"],
      },
    },
    $ref: "#/$defs/node",
  },
  {
    anyOf: [
      { type: "string", maxLength: 3 },
      { type: "object", properties: { x: { type: "null" } }, required: ["x"] },
    ],
  },
  { oneOf: [{ type: "string" }, { type: "integer" }, { type: "array", maxItems: 1 }] },
  { type: "object", additionalProperties: { type: "integer" }, minProperties: 1, maxProperties: 3 },
  { type: "object", required: ["extra"] },
  {},
  true,
];

describe("compiled JSON Schemas against Ajv", () => {
  it.each(SCHEMAS.map((schema) => [JSON.stringify(schema).slice(0, 70), schema]))(
    "every random output of %s validates",
    (_name, schema) => {
      const dfa = compiled({ type: "json_schema", schema: schema as Record<string, unknown> });
      const ajv = new Ajv2020({ strict: false, logger: false });
      for (const [format, check] of Object.entries(FORMAT_CHECKS)) ajv.addFormat(format, check);
      const validate = ajv.compile(schema as object);
      const random = mulberry32(7);
      for (let i = 0; i < 150; i++) {
        const text = randomOutput(dfa, random);
        let value: unknown;
        expect(() => {
          value = JSON.parse(text);
        }, text).not.toThrow();
        expect(validate(value), `${text}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
    },
  );

  it("refuses what it cannot enforce, naming the keyword, and what nothing satisfies", () => {
    const problems = (schema: unknown) => {
      const result = compileConstraint({ type: "json_schema", schema: schema as Record<string, unknown> });
      return result.ok ? [] : result.problems.map((p) => p.path.join("."));
    };
    expect(problems({ type: "object", properties: { n: { multipleOf: 2 } } })).toEqual([
      "schema.properties.n.multipleOf",
    ]);
    expect(problems({ type: "array", uniqueItems: true })).toEqual(["schema.uniqueItems"]);
    expect(problems({ type: "string", format: "hostname" })).toEqual(["schema.format"]);
    expect(problems({ if: { type: "string" } })).toEqual(["schema.if"]);
    expect(problems({ oneOf: [{ type: "number" }, { type: "integer" }] })).toEqual(["schema.oneOf"]);
    expect(problems({ type: "string", pattern: "a\\b" })).toEqual(["schema.pattern"]);
    expect(problems({ enum: ["a"], type: "integer" })).toEqual(["schema.enum"]);
    expect(problems({ type: "object", required: ["a"], additionalProperties: false })).toEqual([""]);
    expect(problems({ type: "integer", minimum: 5, maximum: 4 })).toEqual(["schema.maximum"]);
    expect(problems({ $ref: "#/$defs/missing" })).toEqual(["schema.$ref"]);
  });
});

describe("regex, choice and tool-call constraints", () => {
  it("match the whole text", () => {
    const regex = compiled({ type: "regex", pattern: "^(?:ok|down) in \\d{1,3}ms$", flags: "i" });
    const random = mulberry32(3);
    for (let i = 0; i < 100; i++) expect(randomOutput(regex, random)).toMatch(/^(?:ok|down) in \d{1,3}ms$/i);
    const choice = compiled({ type: "choice", choices: ["yes", "no", "yes please"] });
    for (let i = 0; i < 50; i++) expect(["yes", "no", "yes please"]).toContain(randomOutput(choice, random));
  });

  it("tool_choice auto allows text or calls, never text that starts like a call", () => {
    const dfa = compiled({
      type: "tool_calls",
      tools: [{ name: "f", parameters: { type: "object", properties: { a: { type: "integer" } }, required: ["a"] } }],
      tool_choice: "auto",
      parallel: true,
    });
    const random = mulberry32(9);
    for (let i = 0; i < 200; i++) {
      const text = randomOutput(dfa, random);
      if (text.startsWith("<tool_call>")) {
        for (const call of text.split("\n"))
          expect(call, text).toMatch(/^<tool_call>\{"name": ?"f", ?"arguments": ?\{"a": ?-?\d+\}\}<\/tool_call>$/);
      } else {
        expect("<tool_call>".startsWith(text) || !text.startsWith("<tool_call>")).toBe(true);
      }
    }
    expect(dfa.accepts(new TextEncoder().encode("<tool_call>x"))).toBe(false);
  });
});

describe("UTF-8 and token masks", () => {
  it("encodes every code point range as byte sequences accepting exactly its characters", () => {
    const ranges = [
      { min: 0x41, max: 0x5a },
      { min: 0x7f, max: 0x800 },
      { min: 0xd7f0, max: 0xe010 },
      { min: 0xfff0, max: 0x10010 },
    ];
    const sequences = utf8Sequences(ranges);
    const matches = (bytes: number[]) =>
      sequences.some(
        (seq) =>
          seq.length === bytes.length && seq.every(([lo, hi], i) => (bytes[i] ?? -1) >= lo && (bytes[i] ?? -1) <= hi),
      );
    for (let cp = 0x30; cp < 0x10020; cp += cp < 0x1000 ? 1 : 7) {
      const surrogate = cp >= 0xd800 && cp <= 0xdfff;
      const inside = ranges.some((r) => cp >= r.min && cp <= r.max) && !surrogate;
      if (!surrogate) expect(matches(encodeUtf8(cp)), cp.toString(16)).toBe(inside);
    }
  });

  it("allows a token that ends inside a character or spans the end of a string, and EOS only when complete", () => {
    // "é" is C3 A9: tokens [C3], [A9 22 7D] ('\xa9"}') and '{"a":"' split it and cross boundaries.
    const tokens = ['{"a":"', "\xc3", '\xa9"}', '"}', "x", "}"].map((t) =>
      Uint8Array.from([...t].map((c) => c.charCodeAt(0))),
    );
    const eos = tokens.length;
    const trie = new VocabularyTrie({ size: eos + 1, tokenBytes: [...tokens, undefined], eosTokenIds: [eos] });
    const dfa = compiled({
      type: "json_schema",
      schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
    });
    const cursor = new ConstraintCursor(new TokenConstraint(dfa, trie));
    const allowed = () => {
      const logits = new Float32Array(eos + 1);
      cursor.apply(logits, { remaining: 50, eosAllowed: true });
      return [...logits.keys()].filter((id) => logits[id] !== Number.NEGATIVE_INFINITY);
    };
    expect(allowed()).toEqual([0]);
    cursor.advance(0);
    // Inside the string: the lead byte alone, `"}` closing it, and `x` or `}` as characters.
    expect(allowed()).toEqual([1, 3, 4, 5]);
    cursor.advance(1);
    expect(allowed()).toEqual([2]);
    cursor.advance(2);
    expect(cursor.finished).toBe(true);
    expect(allowed()).toEqual([eos]);
  });
});
