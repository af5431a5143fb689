import { type FormatSelector, FormatSelectorSchema } from "./conversion/conversion-target.js";
import type { ModelVersion } from "./model-version.js";
import { type ModelRecord, RESERVED_ALIASES } from "./registry-record.js";

/**
 * How callers name a version: `name` → its Production version; `name@N` → version N;
 * `name@production` / `name@staging` → the version in that stage; `name@latest` → the newest
 * version; `name@<alias>` → the version a free alias (e.g. `champion`) points at. Any of them
 * may end in `:<format>` (`name@3:int8`, `name:best`): which of the version's formats to serve.
 * Without one the version's serving format is served (the registered original if none was set).
 */
export type ModelReference = (
  | { name: string; selector: { kind: "stage"; stage: "Production" | "Staging" } }
  | { name: string; selector: { kind: "version"; version: number } }
  | { name: string; selector: { kind: "latest" } }
  | { name: string; selector: { kind: "alias"; alias: string } }
) & { format?: FormatSelector };

export function parseModelReference(reference: string): ModelReference | undefined {
  const match = /^([a-z0-9][a-z0-9._-]{0,63})(?:@([A-Za-z0-9_-]+))?(?::([A-Za-z0-9_-]+))?$/.exec(reference);
  if (!match) return undefined;
  const name = match[1] ?? "";
  const suffix = match[2];
  const parsed: ModelReference | undefined =
    suffix === undefined ? { name, selector: { kind: "stage", stage: "Production" } } : parseSelector(name, suffix);
  if (parsed === undefined || match[3] === undefined) return parsed;
  // Case-insensitive like the stage selectors (`@PRODUCTION`); an unknown format is no reference at all.
  const format = FormatSelectorSchema.safeParse(match[3].toLowerCase());
  return format.success ? { ...parsed, format: format.data } : undefined;
}

/** The part after `@` (also usable alone, e.g. as a route parameter). */
export function parseSelector(name: string, suffix: string): ModelReference | undefined {
  const lower = suffix.toLowerCase();
  if (lower === "production") return { name, selector: { kind: "stage", stage: "Production" } };
  if (lower === "staging") return { name, selector: { kind: "stage", stage: "Staging" } };
  if (lower === "latest") return { name, selector: { kind: "latest" } };
  if (/^[1-9][0-9]{0,8}$/.test(suffix)) return { name, selector: { kind: "version", version: Number(suffix) } };
  // Stage names that are not selectors (`none`, `archived`) are reserved, not aliases.
  if (/^[a-z][a-z0-9_-]{0,31}$/.test(suffix) && !(RESERVED_ALIASES as readonly string[]).includes(suffix)) {
    return { name, selector: { kind: "alias", alias: suffix } };
  }
  return undefined;
}

export function resolveModelReference(
  record: Pick<ModelRecord, "versions" | "aliases">,
  reference: ModelReference,
): ModelVersion | undefined {
  const { selector } = reference;
  switch (selector.kind) {
    case "version":
      return record.versions.find((v) => v.version === selector.version);
    case "latest":
      return record.versions.reduce<ModelVersion | undefined>(
        (newest, v) => (newest === undefined || v.version > newest.version ? v : newest),
        undefined,
      );
    case "alias": {
      const target = record.aliases[selector.alias];
      return target === undefined ? undefined : record.versions.find((v) => v.version === target);
    }
    case "stage":
      // Newest first, so that a stage held by two versions (archive_existing: false) picks the latest.
      return [...record.versions].reverse().find((v) => v.stage === selector.stage);
  }
}

/** How a reference reads in messages: `tiny-lm@champion`, `tiny-lm@3:int8`. */
export function describeModelReference(reference: ModelReference): string {
  const format = reference.format === undefined ? "" : `:${reference.format}`;
  return `${describeVersionSelector(reference)}${format}`;
}

function describeVersionSelector(reference: ModelReference): string {
  const { selector } = reference;
  switch (selector.kind) {
    case "version":
      return `${reference.name}@${selector.version}`;
    case "latest":
      return `${reference.name}@latest`;
    case "alias":
      return `${reference.name}@${selector.alias}`;
    case "stage":
      return `${reference.name}@${selector.stage.toLowerCase()}`;
  }
}
