/**
 * Constrained decoding, as data: a generation may carry a `constraint` that the worker's sampler
 * enforces token by token (gpu-worker/src/engine/constraints/). This module holds the request
 * shapes and the checks that are cheap and pure, so the edge refuses what the engine cannot
 * enforce before anything is forwarded, with the same field names the worker would use.
 *
 * The worker compiles the constraint to an automaton and checks it again (and whether it can be
 * satisfied at all); these checks are the keyword whitelist and the obvious contradictions.
 */
import { z } from "zod";
import type { FieldProblem } from "./errors.js";

const SCHEMA_MAX_BYTES = 16 * 1024;
const TOOLS_MAX_BYTES = 64 * 1024;

/** Text before a tool call's JSON and after it; a call is `<tool_call>{"name":…,"arguments":{…}}</tool_call>`. */
export const TOOL_CALL_OPEN = "<tool_call>";
export const TOOL_CALL_CLOSE = "</tool_call>";
/** Between parallel calls. */
export const TOOL_CALL_SEPARATOR = "\n";

const JsonSchemaValue = z.union([z.record(z.string(), z.unknown()), z.boolean()]);

const boundedJson = (limit: number) => (value: unknown) => JSON.stringify(value).length <= limit;

/** The whole output is JSON that validates against `schema` (draft 2020-12, the subset below). */
export const JsonSchemaConstraintSchema = z.strictObject({
  type: z.literal("json_schema"),
  schema: JsonSchemaValue.refine(boundedJson(SCHEMA_MAX_BYTES), {
    message: `must be at most ${SCHEMA_MAX_BYTES} bytes of JSON`,
  }),
});

/** The whole output matches `pattern` (JavaScript syntax; `^`/`$` at its ends are implied). */
export const RegexConstraintSchema = z.strictObject({
  type: z.literal("regex"),
  pattern: z.string().min(1).max(1000),
  /** `i`, `s`, `u`, `v`: `m` is refused because line anchors cannot be enforced. */
  flags: z
    .string()
    .max(3)
    .regex(/^[isuv]*$/, "may only contain the flags i, s, u and v")
    .refine((flags) => new Set(flags).size === flags.length, "must not repeat a flag")
    .optional(),
});

/** The whole output is exactly one of `choices`. */
export const ChoiceConstraintSchema = z.strictObject({
  type: z.literal("choice"),
  choices: z.array(z.string().min(1).max(1000)).min(1).max(256),
});

export const ToolDefinitionSchema = z.strictObject({
  /** OpenAI's rule for function names. */
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be 1–64 letters, digits, _ or -"),
  description: z.string().max(4096).optional(),
  /** A JSON Schema for the arguments object; absent means no arguments (`{}`). */
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;

export const ToolChoiceSchema = z.union([
  z.enum(["auto", "none", "required"]),
  z.strictObject({ name: ToolDefinitionSchema.shape.name }),
]);
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

/**
 * Tool calling: `tools` are rendered with the model's chat template (its `tools` variable), and the
 * output is decoded under the union of their schemas. `auto`: plain text (never starting with
 * `<tool_call>`) or calls; `required`: calls; `{name}`: calls of that tool; `none`: plain text only.
 */
export const ToolCallsConstraintSchema = z.strictObject({
  type: z.literal("tool_calls"),
  tools: z
    .array(ToolDefinitionSchema)
    .min(1)
    .max(128)
    .refine(boundedJson(TOOLS_MAX_BYTES), { message: `must be at most ${TOOLS_MAX_BYTES} bytes of JSON` }),
  tool_choice: ToolChoiceSchema.default("auto"),
  /** More than one call in an answer. */
  parallel: z.boolean().default(true),
});

export const ConstraintSpecSchema = z
  .discriminatedUnion("type", [
    JsonSchemaConstraintSchema,
    RegexConstraintSchema,
    ChoiceConstraintSchema,
    ToolCallsConstraintSchema,
  ])
  .superRefine((spec, ctx) => {
    for (const problem of constraintProblems(spec)) {
      ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
    }
  });
export type ConstraintSpec = z.infer<typeof ConstraintSpecSchema>;

/** A decoded tool call as the engine returns it. */
export const ToolCallSchema = z.object({
  name: z.string(),
  arguments: z.record(z.string(), z.unknown()),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

/** A problem found in a constraint, at a path below the constraint. */
export interface ConstraintProblem {
  path: (string | number)[];
  message: string;
}

/** Everything the engine cannot enforce in a constraint, each at its path (empty: none). */
export function constraintProblems(spec: {
  type: string;
  schema?: unknown;
  pattern?: string;
  flags?: string | undefined;
  tools?: readonly { name: string; parameters?: Record<string, unknown> | undefined }[];
  tool_choice?: unknown;
}): ConstraintProblem[] {
  if (spec.type === "json_schema") return schemaProblems(spec.schema, ["schema"]);
  if (spec.type === "regex" && spec.pattern !== undefined) {
    try {
      new RegExp(spec.pattern, spec.flags ?? "");
    } catch (error) {
      return [{ path: ["pattern"], message: `does not compile: ${error instanceof Error ? error.message : error}` }];
    }
    return [];
  }
  if (spec.type === "tool_calls" && spec.tools) {
    const problems: ConstraintProblem[] = [];
    const names = new Set<string>();
    spec.tools.forEach((tool, index) => {
      if (names.has(tool.name)) problems.push({ path: ["tools", index, "name"], message: "names another tool too" });
      names.add(tool.name);
      if (tool.parameters !== undefined) {
        problems.push(...schemaProblems(tool.parameters, ["tools", index, "parameters"]));
        if (tool.parameters.type !== undefined && tool.parameters.type !== "object") {
          problems.push({ path: ["tools", index, "parameters", "type"], message: 'must be "object"' });
        }
      }
    });
    const choice = spec.tool_choice;
    if (typeof choice === "object" && choice !== null && "name" in choice && !names.has(String(choice.name))) {
      problems.push({ path: ["tool_choice", "name"], message: "names no tool in tools" });
    }
    return problems;
  }
  return [];
}

/** Keywords that never constrain the output. */
const ANNOTATIONS = new Set([
  "title",
  "description",
  "default",
  "examples",
  "$comment",
  "$schema",
  "$id",
  "deprecated",
  "readOnly",
  "writeOnly",
  "$defs",
  "definitions",
]);

/** Every keyword the compiler enforces (with the limits checked below). */
const ENFORCED = new Set([
  "type",
  "enum",
  "const",
  "anyOf",
  "oneOf",
  "allOf",
  "$ref",
  "properties",
  "required",
  "additionalProperties",
  "unevaluatedProperties",
  "minProperties",
  "maxProperties",
  "items",
  "prefixItems",
  "minItems",
  "maxItems",
  "uniqueItems",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
]);

/** `format` values the compiler has a grammar for. */
export const ENFORCED_FORMATS = ["date", "time", "date-time", "uuid", "email", "ipv4"] as const;

const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

/** Keywords that only mean something next to these types. */
const NUMERIC_BOUNDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] as const;

/**
 * The largest count a repetition keyword is enforced up to: each repetition is a copy in the
 * automaton. A larger maximum is capped here (the output still validates); a larger minimum is refused.
 */
export const MAX_REPEAT = 256;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Keyword problems of a JSON Schema (and its subschemas) for constrained decoding. */
export function schemaProblems(schema: unknown, path: (string | number)[]): ConstraintProblem[] {
  const problems: ConstraintProblem[] = [];
  walkSchema(schema, path, problems);
  return problems;
}

function walkSchema(schema: unknown, path: (string | number)[], problems: ConstraintProblem[]): void {
  if (typeof schema === "boolean") return;
  if (!isObject(schema)) {
    problems.push({ path, message: "must be a JSON Schema (an object or a boolean)" });
    return;
  }
  const add = (key: string | number | (string | number)[], message: string) =>
    problems.push({ path: [...path, ...(Array.isArray(key) ? key : [key])], message });
  for (const key of Object.keys(schema)) {
    if (!ANNOTATIONS.has(key) && !ENFORCED.has(key)) add(key, `${key} cannot be enforced during decoding`);
  }
  const constraining = Object.keys(schema).filter((key) => ENFORCED.has(key));
  const types = typesOf(schema.type);
  if (schema.type !== undefined && types === undefined) add("type", "must be a JSON type or a list of them");

  for (const defsKey of ["$defs", "definitions"]) {
    const defs = schema[defsKey];
    if (defs === undefined) continue;
    if (!isObject(defs)) add(defsKey, "must be an object of schemas");
    else for (const [name, sub] of Object.entries(defs)) walkSchema(sub, [...path, defsKey, name], problems);
  }
  if (schema.$ref !== undefined) {
    if (typeof schema.$ref !== "string" || !(schema.$ref === "#" || schema.$ref.startsWith("#/"))) {
      add("$ref", "only references inside the schema (#, #/$defs/…) can be enforced");
    }
    const others = constraining.filter((key) => key !== "$ref");
    if (others.length > 0) add(others[0] ?? "$ref", "cannot be enforced next to $ref; put it in the referenced schema");
  }
  for (const combinator of ["anyOf", "oneOf", "allOf"] as const) {
    const branches = schema[combinator];
    if (branches === undefined) continue;
    if (!Array.isArray(branches) || branches.length === 0) {
      add(combinator, "must be a non-empty list of schemas");
      continue;
    }
    if (combinator === "allOf" && branches.length > 1) add(combinator, "only allOf with one schema can be enforced");
    const others = constraining.filter((key) => key !== combinator);
    if (others.length > 0) {
      add(others[0] ?? combinator, `cannot be enforced next to ${combinator}; move it into each branch`);
    }
    for (const [index, branch] of branches.entries()) walkSchema(branch, [...path, combinator, index], problems);
  }
  if (schema.enum !== undefined && (!Array.isArray(schema.enum) || schema.enum.length === 0)) {
    add("enum", "must be a non-empty list (an empty enum can never be satisfied)");
  }

  // Objects.
  if (schema.properties !== undefined) {
    if (!isObject(schema.properties)) add("properties", "must be an object of schemas");
    else
      for (const [name, sub] of Object.entries(schema.properties))
        walkSchema(sub, [...path, "properties", name], problems);
  }
  if (schema.required !== undefined) {
    if (!Array.isArray(schema.required) || schema.required.some((name) => typeof name !== "string")) {
      add("required", "must be a list of property names");
    } else if (schema.additionalProperties === false && isObject(schema.properties)) {
      const declared = schema.properties;
      schema.required.forEach((name, index) => {
        if (!Object.hasOwn(declared, String(name))) {
          add(["required", index], `${name} is required but additionalProperties is false and it is not a property`);
        }
      });
    }
  }
  for (const key of ["additionalProperties", "unevaluatedProperties"] as const) {
    if (schema[key] !== undefined) walkSchema(schema[key], [...path, key], problems);
  }
  if (schema.properties !== undefined) {
    for (const key of ["minProperties", "maxProperties"]) {
      if (schema[key] !== undefined) add(key, `${key} can only be enforced on objects without declared properties`);
    }
  }
  checkCounts(schema, "minProperties", "maxProperties", add);

  // Arrays.
  if (schema.items !== undefined) {
    if (Array.isArray(schema.items)) add("items", "a list of item schemas is draft-07 style; use prefixItems");
    else walkSchema(schema.items, [...path, "items"], problems);
  }
  if (schema.prefixItems !== undefined) {
    if (!Array.isArray(schema.prefixItems)) add("prefixItems", "must be a list of schemas");
    else {
      for (const [index, sub] of schema.prefixItems.entries())
        walkSchema(sub, [...path, "prefixItems", index], problems);
    }
  }
  if (schema.uniqueItems === true) add("uniqueItems", "uniqueItems: true cannot be enforced during decoding");
  checkCounts(schema, "minItems", "maxItems", add);

  // Strings.
  checkCounts(schema, "minLength", "maxLength", add);
  if (schema.pattern !== undefined) {
    if (typeof schema.pattern !== "string") add("pattern", "must be a string");
    else {
      try {
        new RegExp(schema.pattern, "u");
      } catch (error) {
        add("pattern", `does not compile: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
  if (schema.format !== undefined && !(ENFORCED_FORMATS as readonly unknown[]).includes(schema.format)) {
    add(
      "format",
      `format ${JSON.stringify(schema.format)} cannot be enforced; supported: ${ENFORCED_FORMATS.join(", ")}`,
    );
  }

  // Numbers.
  for (const key of NUMERIC_BOUNDS) {
    const bound = schema[key];
    if (bound === undefined) continue;
    if (typeof bound !== "number" || !Number.isFinite(bound)) {
      add(key, "must be a finite number");
      continue;
    }
    const numberAllowed = types === undefined || types.includes("number");
    if (numberAllowed && (!Number.isInteger(bound) || bound < 0)) {
      add(key, `${key} on a number can only be enforced as a non-negative integer bound (use type integer)`);
    }
  }
  const low = lowerBound(schema);
  const high = upperBound(schema);
  if (low !== undefined && high !== undefined && low > high) add("maximum", "is below the minimum: no number fits");
}

function typesOf(type: unknown): string[] | undefined {
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  if (list.length === 0 || list.some((t) => typeof t !== "string" || !TYPES.has(t))) return undefined;
  return list as string[];
}

function checkCounts(
  schema: Record<string, unknown>,
  minKey: string,
  maxKey: string,
  add: (key: string, message: string) => void,
): void {
  const min = schema[minKey];
  const max = schema[maxKey];
  for (const [key, value] of [
    [minKey, min],
    [maxKey, max],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) add(key, "must be a non-negative integer");
    // A larger maximum is enforced as MAX_REPEAT (fewer is still valid); a larger minimum cannot be.
    else if (key === minKey && value > MAX_REPEAT) add(key, `must be at most ${MAX_REPEAT} to be enforced`);
  }
  if (typeof min === "number" && typeof max === "number" && min > max) add(maxKey, `is below ${minKey}: nothing fits`);
}

/** The smallest integer a schema's bounds allow (exclusive bounds moved inwards), if bounded. */
export function lowerBound(schema: Record<string, unknown>): number | undefined {
  const inclusive = typeof schema.minimum === "number" ? schema.minimum : undefined;
  const exclusive = typeof schema.exclusiveMinimum === "number" ? Math.floor(schema.exclusiveMinimum) + 1 : undefined;
  if (inclusive === undefined) return exclusive;
  return exclusive === undefined ? Math.ceil(inclusive) : Math.max(Math.ceil(inclusive), exclusive);
}

/** The largest integer a schema's bounds allow, if bounded. */
export function upperBound(schema: Record<string, unknown>): number | undefined {
  const inclusive = typeof schema.maximum === "number" ? schema.maximum : undefined;
  const exclusive = typeof schema.exclusiveMaximum === "number" ? Math.ceil(schema.exclusiveMaximum) - 1 : undefined;
  if (inclusive === undefined) return exclusive;
  return exclusive === undefined ? Math.floor(inclusive) : Math.min(Math.floor(inclusive), exclusive);
}

/**
 * The tool calls in an answer decoded under a `tool_calls` constraint: `<tool_call>{…}</tool_call>`
 * blocks, separated by newlines. Undefined when the answer is plain text (or not calls at all).
 */
export function parseToolCalls(text: string): ToolCall[] | undefined {
  if (!text.startsWith(TOOL_CALL_OPEN)) return undefined;
  const calls: ToolCall[] = [];
  let rest = text;
  while (rest.startsWith(TOOL_CALL_OPEN)) {
    const end = rest.indexOf(TOOL_CALL_CLOSE);
    if (end < 0) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest.slice(TOOL_CALL_OPEN.length, end));
    } catch {
      return undefined;
    }
    const call = ToolCallSchema.safeParse(parsed);
    if (!call.success) return undefined;
    calls.push(call.data);
    rest = rest.slice(end + TOOL_CALL_CLOSE.length);
    if (rest.startsWith(TOOL_CALL_SEPARATOR)) rest = rest.slice(TOOL_CALL_SEPARATOR.length);
  }
  return rest.trim() === "" ? calls : undefined;
}

/** The FieldProblems for a constraint at `prefix` (e.g. `constraint`, `judge`). */
export function constraintFieldProblems(problems: ConstraintProblem[], prefix: string): FieldProblem[] {
  return problems.map((problem) => ({ field: [prefix, ...problem.path].join("."), message: problem.message }));
}
