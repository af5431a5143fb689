import { z } from "zod";
import { freeText, ReasonTextSchema } from "./free-text.js";
import {
  LabelSchema,
  MetricNameSchema,
  ModelKindSchema,
  ModelNameSchema,
  ModelVersionSchema,
  StageSchema,
} from "./model-version.js";

/**
 * `sort=created_at|updated_at|name|version|metric:<name>|benchmark:<name>`. Versions without
 * the metric sort last whichever the order.
 */
export const SearchSortSchema = z
  .string()
  .regex(
    /^(created_at|updated_at|name|version|(metric|benchmark):[A-Za-z][A-Za-z0-9_.-]{0,63})$/,
    "must be created_at, updated_at, name, version, metric:<name> or benchmark:<name>",
  );
export type SearchSort =
  | { kind: "column"; column: "created_at" | "updated_at" | "name" | "version" }
  | { kind: "metric"; source: "metrics" | "benchmark_scores"; metric: string };

export function parseSearchSort(sort: string): SearchSort {
  const [prefix, metric] = sort.split(":", 2);
  if (prefix === "metric" && metric) return { kind: "metric", source: "metrics", metric };
  if (prefix === "benchmark" && metric) return { kind: "metric", source: "benchmark_scores", metric };
  return { kind: "column", column: prefix as "created_at" | "updated_at" | "name" | "version" };
}

const optionalFilter = <T extends z.ZodType>(schema: T) => schema.optional();

/** `GET /v1/models` query: filters are ANDed; `q` matches names, descriptions, notes and tags. */
export const VersionSearchQuerySchema = z.strictObject({
  name: optionalFilter(ModelNameSchema),
  role: optionalFilter(LabelSchema),
  group: optionalFilter(LabelSchema),
  stage: optionalFilter(StageSchema),
  kind: optionalFilter(ModelKindSchema),
  tag: optionalFilter(LabelSchema),
  backend: optionalFilter(LabelSchema),
  location: optionalFilter(LabelSchema),
  category: optionalFilter(LabelSchema),
  q: freeText({ max: 200, min: 1, trim: true }).optional(),
  sort: SearchSortSchema.default("created_at"),
  order: z.enum(["asc", "desc"]).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(2000).optional(),
});
export type VersionSearchQuery = z.infer<typeof VersionSearchQuerySchema>;

/** Names, text and date columns read best A→Z / oldest first; numbers best-first. */
export function defaultSearchOrder(sort: SearchSort): "asc" | "desc" {
  if (sort.kind === "metric") return "desc";
  return sort.column === "name" ? "asc" : "desc";
}

export const VersionSearchItemSchema = ModelVersionSchema.extend({
  /** The free aliases pointing at this version. */
  aliases: z.array(z.string()),
});
export type VersionSearchItem = z.infer<typeof VersionSearchItemSchema>;

/** An OpenAI `model` object: `GET /v1/models` is also OpenAI's model list. */
export const OpenAiModelSchema = z.strictObject({
  /** `name@version`, or the bare `name` for a Production version. */
  id: z.string(),
  object: z.literal("model"),
  /** Unix seconds: when the version was registered. */
  created: z.int(),
  owned_by: z.string(),
});
export type OpenAiModel = z.infer<typeof OpenAiModelSchema>;

export const VersionSearchPageSchema = z.strictObject({
  items: z.array(VersionSearchItemSchema),
  /** Pass back as `cursor` with the same filters for the next page; null on the last page. */
  next_cursor: z.string().nullable(),
  /** How many versions match the filters in all. */
  total: z.int().min(0),
  /** OpenAI's list envelope, so OpenAI clients can read the same answer (set by the edge's route). */
  object: z.literal("list").optional(),
  /** The page's causal LMs as OpenAI `model` objects (ids usable as `model` in completions). */
  data: z.array(OpenAiModelSchema).optional(),
});
export type VersionSearchPage = z.infer<typeof VersionSearchPageSchema>;

/** A position in a sorted result: the sort value and the (name, version) tie-breakers. */
export const SearchCursorSchema = z.strictObject({
  value: z.union([z.number(), z.string(), z.null()]),
  name: ModelNameSchema,
  version: z.int().min(1),
  /** Fingerprint of the filters and sort the cursor was issued for. */
  query: z.string(),
});
export type SearchCursor = z.infer<typeof SearchCursorSchema>;

/** The filters and sort that a cursor must be reused with (limit may change between pages). */
export function searchFingerprint(query: VersionSearchQuery): string {
  const { cursor: _cursor, limit: _limit, ...rest } = query;
  const canonical = JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  // FNV-1a: a short, stable fingerprint; not a security boundary (cursors carry no secrets).
  let hash = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    hash ^= canonical.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

export function encodeSearchCursor(cursor: SearchCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify(cursor));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Undefined when the text is not a cursor this API issued. */
export function decodeSearchCursor(text: string): SearchCursor | undefined {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const parsed = SearchCursorSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** `GET /v1/models/:name/best` query. */
export const BestVersionQuerySchema = z.strictObject({
  metric: MetricNameSchema.default("val_acc"),
  order: z.enum(["asc", "desc"]).default("desc"),
  stage: StageSchema.optional(),
});
export type BestVersionQuery = z.infer<typeof BestVersionQuerySchema>;

export const DeleteQuerySchema = z.strictObject({
  /** Also delete the artifact from object storage when no other version uses it. */
  purge: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
  /** Allow deleting a version that is in Production (or a model that has one). */
  force: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
  reason: ReasonTextSchema.optional(),
});
export type DeleteQuery = z.infer<typeof DeleteQuerySchema>;
