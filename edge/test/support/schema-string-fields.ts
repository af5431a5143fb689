import type { z } from "zod";

/**
 * Every string a client can send in a body or query schema, with the smallest JSON that puts a
 * value there: objects carry their literal fields (so a discriminated union picks the branch),
 * arrays one element, records one key. For sweeps that send bad text into every field.
 */
export interface StringField {
  /** The dotted path a field problem names: `dataset.name`, `messages.0.content`. */
  path: string;
  /** The body with `value` at `path`. */
  bodyWith(value: string): unknown;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  values?: unknown[];
  entries?: Record<string, string>;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"]);

function unwrapped(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.in) current = def.in;
    else if (def.type === "lazy" && def.getter) current = def.getter();
    else return current;
  }
}

/** A record key its key schema accepts: the first enum value, else a plain lower-case word. */
function recordKey(keyType: z.ZodType | undefined): string {
  const def = keyType ? defOf(unwrapped(keyType)) : undefined;
  if (def?.type === "enum" && def.entries) return Object.values(def.entries)[0] ?? "x";
  return "x";
}

function literalFields(shape: Record<string, z.ZodType>): Record<string, unknown> {
  const literals: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(shape)) {
    const def = defOf(unwrapped(field));
    if (def.type === "literal" && def.values) literals[key] = def.values[0];
  }
  return literals;
}

export function stringFields(schema: z.ZodType, depth = 0): StringField[] {
  if (depth > 8) return [];
  const inner = unwrapped(schema);
  const def = defOf(inner);
  const nested = (child: z.ZodType, segment: string, wrap: (childBody: unknown) => unknown): StringField[] =>
    stringFields(child, depth + 1).map((field) => ({
      path: field.path === "" ? segment : `${segment}.${field.path}`,
      bodyWith: (value) => wrap(field.bodyWith(value)),
    }));
  switch (def.type) {
    case "string":
      return [{ path: "", bodyWith: (value) => value }];
    case "object": {
      const shape = def.shape ?? {};
      const literals = literalFields(shape);
      return Object.entries(shape).flatMap(([key, field]) =>
        nested(field, key, (childBody) => ({ ...literals, [key]: childBody })),
      );
    }
    case "array":
      return def.element ? nested(def.element, "0", (childBody) => [childBody]) : [];
    case "record": {
      const key = recordKey(def.keyType);
      return def.valueType ? nested(def.valueType, key, (childBody) => ({ [key]: childBody })) : [];
    }
    case "union": {
      const seen = new Set<string>();
      return (def.options ?? [])
        .flatMap((option) => stringFields(option, depth + 1))
        .filter((field) => !seen.has(field.path) && seen.add(field.path) !== undefined);
    }
    case "intersection":
      return [def.left, def.right].flatMap((side) => (side ? stringFields(side, depth + 1) : []));
    default:
      return [];
  }
}
