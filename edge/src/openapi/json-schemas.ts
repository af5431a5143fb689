import { z } from "zod";
import { componentSchemas } from "./route-spec.js";

export type JsonSchema = Record<string, unknown>;
export type SchemaIo = "input" | "output";

/** A schema some operation shows: a request part (`input`) or a response (`output`). */
export interface SchemaUse {
  schema: z.ZodType;
  io: SchemaIo;
  /** The name it gets if it has none and must become a component (used by several others). */
  fallbackId: string;
}

export interface ConvertedSchemas {
  /** `components.schemas`: only what some operation reaches. */
  components: Record<string, JsonSchema>;
  /** The JSON Schema an operation shows for a use: a `$ref` for named schemas, inline otherwise. */
  render(use: SchemaUse): JsonSchema;
  /** Follows a top-level `$ref` into the components. */
  resolve(schema: JsonSchema): JsonSchema;
}

const COMPONENT_PREFIX = "#/components/schemas/";
// What zod emits for a schema it extracted on its own (cycles, or ids set with `.meta({ id })`).
const SHARED_DEFS_PREFIX = `${COMPONENT_PREFIX}__shared#/$defs/`;

const CONVERSION = { target: "draft-2020-12", unrepresentable: "any" } as const;

function visitObjects(value: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) visitObjects(item, visit);
  } else if (value !== null && typeof value === "object") {
    const node = value as Record<string, unknown>;
    visit(node);
    for (const child of Object.values(node)) visitObjects(child, visit);
  }
}

function refsIn(schema: unknown): Set<string> {
  const refs = new Set<string>();
  visitObjects(schema, (node) => {
    if (typeof node.$ref === "string" && node.$ref.startsWith(COMPONENT_PREFIX)) {
      refs.add(node.$ref.slice(COMPONENT_PREFIX.length));
    }
  });
  return refs;
}

/** A plain copy without the keywords that only make sense at a document's root. */
function asEmbedded(schema: object): JsonSchema {
  const copy = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  delete copy.$schema;
  delete copy.$id;
  visitObjects(copy, (node) => {
    if (typeof node.$ref === "string" && node.$ref.startsWith(SHARED_DEFS_PREFIX)) {
      node.$ref = COMPONENT_PREFIX + node.$ref.slice(SHARED_DEFS_PREFIX.length);
    }
  });
  return copy;
}

function standalone(schema: z.ZodType, io: SchemaIo): string {
  return JSON.stringify(z.toJSONSchema(schema, { ...CONVERSION, io }));
}

/**
 * Converts every schema the operations use, in the direction each is used in, with named
 * schemas (see `component()`) as shared `components.schemas` entries. A named schema whose
 * input form differs from its output form (defaults, plain objects' extra keys) gets a second
 * entry, `<Name>Input`, for the request side.
 */
export function convertSchemas(uses: readonly SchemaUse[]): ConvertedSchemas {
  const named = [...componentSchemas._idmap.entries()];
  const namedIds = new Set(named.map(([id]) => id));
  const inputDiffers = new Set(
    named.filter(([, schema]) => standalone(schema, "input") !== standalone(schema, "output")).map(([id]) => id),
  );
  const nameFor = (id: string, io: SchemaIo) => (io === "input" && inputDiffers.has(id) ? `${id}Input` : id);

  const candidates: Record<string, JsonSchema> = {};
  const useNames = new Map<SchemaUse, string>();
  for (const io of ["input", "output"] as const) {
    const registry = z.registry<{ id: string }>();
    for (const [id, schema] of named) registry.add(schema, { id });
    for (const use of uses.filter((u) => u.io === io)) {
      if (!registry.has(use.schema)) registry.add(use.schema, { id: use.fallbackId });
      const id = registry.get(use.schema)?.id ?? use.fallbackId;
      useNames.set(use, nameFor(id, io));
    }
    const converted = z.toJSONSchema(registry, {
      ...CONVERSION,
      io,
      uri: (id) => COMPONENT_PREFIX + nameFor(id, io),
    });
    for (const [id, schema] of Object.entries(converted.schemas)) {
      if (id === "__shared") {
        const defs = (schema as { $defs?: Record<string, object> }).$defs ?? {};
        for (const [defId, def] of Object.entries(defs)) candidates[defId] = asEmbedded(def);
      } else if (io === "output" || !namedIds.has(id) || inputDiffers.has(id)) {
        candidates[nameFor(id, io)] = asEmbedded(schema);
      }
    }
  }

  // A schema without a name stays inline unless another schema refers to it.
  const referencedByOthers = new Set<string>();
  for (const [name, schema] of Object.entries(candidates)) {
    for (const ref of refsIn(schema)) if (ref !== name) referencedByOthers.add(ref);
  }
  const namedComponents = new Set([...namedIds, ...[...inputDiffers].map((id) => nameFor(id, "input"))]);
  const isComponent = (name: string) => namedComponents.has(name) || referencedByOthers.has(name);

  const render = (use: SchemaUse): JsonSchema => {
    const name = useNames.get(use) ?? use.fallbackId;
    if (isComponent(name)) return { $ref: COMPONENT_PREFIX + name };
    return structuredClone(candidates[name] ?? {});
  };

  // Keep only the components some operation reaches.
  const components: Record<string, JsonSchema> = {};
  const pending = uses.flatMap((use) => [...refsIn(render(use))]);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    const schema = candidates[name];
    if (components[name] !== undefined || schema === undefined) continue;
    components[name] = schema;
    pending.push(...refsIn(schema));
  }

  const resolve = (schema: JsonSchema): JsonSchema => {
    const ref = typeof schema.$ref === "string" ? schema.$ref : undefined;
    return ref?.startsWith(COMPONENT_PREFIX) ? (candidates[ref.slice(COMPONENT_PREFIX.length)] ?? schema) : schema;
  };

  return { components: sortedByName(components), render, resolve };
}

function sortedByName(record: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
