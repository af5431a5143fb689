import { DEFAULT_REGISTRY_POLICY, replaceControlCharacters } from "@modelgate/shared";
import type { z } from "zod";

interface LegacyTransition {
  from: string;
  to: string;
  at: string;
  by: string;
  reason?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/**
 * Records written before versioned metadata and model-level history (a stack started with an
 * earlier build) carried `stage_history` per version and no revision. This lifts them into the
 * current shape on read, so an existing `.modelgate/` keeps working; the next write stores the
 * new shape. Current records pass through untouched.
 */
export function upgradeLegacyRecord(raw: unknown): unknown {
  if (!isObject(raw) || "revision" in raw || !Array.isArray(raw.versions)) return raw;
  const events: { at: string; by: string; version: number; transition?: LegacyTransition }[] = [];
  const versions = raw.versions.filter(isObject).map((legacy) => {
    const { stage_history, ...version } = legacy;
    const number = Number(version.version);
    events.push({ at: String(version.created_at), by: String(version.created_by), version: number });
    for (const transition of Array.isArray(stage_history) ? (stage_history as LegacyTransition[]) : []) {
      events.push({ at: transition.at, by: transition.by, version: number, transition });
    }
    const artifact = isObject(version.artifact) ? version.artifact : {};
    return {
      tags: [],
      formats: [artifact.format],
      locations: {},
      deployed_backends: [],
      categories: [],
      benchmark_scores: {},
      metrics: {},
      ...version,
      metadata_revision: 1,
      updated_at: version.created_at,
    };
  });
  events.sort((a, b) => a.at.localeCompare(b.at));
  const history = events.map((event, index) => ({
    seq: index + 1,
    at: event.at,
    by: event.by,
    version: event.version,
    ...(event.transition
      ? {
          action: "stage_changed",
          from: event.transition.from,
          to: event.transition.to,
          reason: event.transition.reason,
        }
      : { action: "registered", from: null, to: "None" }),
  }));
  return {
    name: raw.name,
    revision: 1,
    created_at: raw.created_at,
    updated_at: raw.updated_at,
    last_version: Math.max(0, ...raw.versions.filter(isObject).map((v) => Number(v.version))),
    policy: DEFAULT_REGISTRY_POLICY,
    aliases: {},
    versions,
    history,
  };
}

/** Every string in a JSON value with the characters free text refuses replaced. */
function withReplaced(value: unknown, multiline: boolean, replacement: string): unknown {
  if (typeof value === "string") return replaceControlCharacters(value, multiline, replacement);
  if (Array.isArray(value)) return value.map((item) => withReplaced(item, multiline, replacement));
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, withReplaced(item, multiline, replacement)]),
    );
  }
  return value;
}

/**
 * Parses a stored registry document. Builds before free text was checked (`freeText` in shared)
 * stored control characters in notes, reasons and names; the schemas now refuse them, so such a
 * document would no longer read and its model would answer 500 forever. It reads instead with
 * each such character shown as U+FFFD (and, if a one-line field held a line break, that as a
 * space); the next write stores it so. The retries run only when the first parse fails:
 * documents written since cost nothing extra.
 */
export function parseStoredDocument<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const retried = schema.safeParse(withReplaced(raw, true, "\uFFFD"));
  if (retried.success) return retried.data;
  // A one-line field held a tab or line break: those read as a space.
  return schema.parse(withReplaced(withReplaced(raw, true, "\uFFFD"), false, " "));
}
