import {
  decodeSearchCursor,
  defaultSearchOrder,
  encodeSearchCursor,
  err,
  ModelgateError,
  type ModelRecord,
  type ModelVersion,
  ModelVersionSchema,
  ok,
  parseSearchSort,
  type Result,
  type SearchSort,
  searchFingerprint,
  type VersionSearchItem,
  type VersionSearchPage,
  type VersionSearchQuery,
} from "@modelgate/shared";
import { referencedSha256s } from "./version-files.js";

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS registry_versions (
     name TEXT NOT NULL, version INTEGER NOT NULL, model_revision INTEGER NOT NULL,
     stage TEXT NOT NULL, kind TEXT NOT NULL, role TEXT, grp TEXT,
     tags TEXT NOT NULL, backends TEXT NOT NULL, locations TEXT NOT NULL, categories TEXT NOT NULL,
     metrics TEXT NOT NULL, benchmark_scores TEXT NOT NULL, search_text TEXT NOT NULL,
     sha256 TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL,
     PRIMARY KEY (name, version))`,
  "CREATE INDEX IF NOT EXISTS registry_versions_stage ON registry_versions (stage)",
  "CREATE INDEX IF NOT EXISTS registry_versions_role ON registry_versions (role)",
  "CREATE INDEX IF NOT EXISTS registry_versions_created ON registry_versions (created_at)",
  "CREATE INDEX IF NOT EXISTS registry_versions_sha256 ON registry_versions (sha256)",
  "CREATE TABLE IF NOT EXISTS registry_index_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
  // Every sha256 a live version references (artifact, tokenizer, converted formats, pipeline files),
  // so a purge can tell whether an object is still in use with one indexed lookup.
  `CREATE TABLE IF NOT EXISTS registry_version_files (
     name TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (name, version, sha256))`,
  "CREATE INDEX IF NOT EXISTS registry_version_files_sha256 ON registry_version_files (sha256)",
];

/**
 * Bumped whenever the index gains data older builds did not store: an index built by an older
 * edge (no `registry_version_files` rows) is rebuilt from R2 on start-up instead of being trusted.
 */
const INDEX_FORMAT = "2";

type SqlValue = string | number | null;

/** Escapes LIKE wildcards so `q=50%` searches for the text "50%". */
const likePattern = (text: string) => `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function sortExpression(sort: SearchSort): { sql: string; params: SqlValue[] } {
  if (sort.kind === "column") return { sql: sort.column, params: [] };
  return { sql: `json_extract(${sort.source}, ?)`, params: [`$."${sort.metric}"`] };
}

/**
 * The registry's search index: one SQLite row per live version inside the coordinator Durable
 * Object, replaced in the same serialized step that writes the model record to R2. It is
 * derived data: `rebuild` recreates it from R2 (the source of truth) at any time.
 */
export class RegistrySearchIndex {
  constructor(
    private readonly sql: SqlStorage,
    private readonly transaction: <T>(fn: () => T) => T,
  ) {
    for (const statement of SCHEMA) this.sql.exec(statement);
  }

  isBuilt(): boolean {
    const rows = this.sql
      .exec<{ value: string }>("SELECT value FROM registry_index_state WHERE key = 'format'")
      .toArray();
    return rows[0]?.value === INDEX_FORMAT;
  }

  markBuilt(at: string): void {
    this.sql.exec("INSERT OR REPLACE INTO registry_index_state (key, value) VALUES ('built', ?)", at);
    this.sql.exec("INSERT OR REPLACE INTO registry_index_state (key, value) VALUES ('format', ?)", INDEX_FORMAT);
  }

  /** Replaces a model's rows unless the index already holds a newer revision of it. */
  replaceModel(record: ModelRecord): void {
    this.transaction(() => {
      const indexed = this.sql
        .exec<{ revision: number }>(
          "SELECT max(model_revision) AS revision FROM registry_versions WHERE name = ?",
          record.name,
        )
        .one().revision;
      if (indexed !== null && indexed > record.revision) return;
      this.sql.exec("DELETE FROM registry_versions WHERE name = ?", record.name);
      this.sql.exec("DELETE FROM registry_version_files WHERE name = ?", record.name);
      const aliasesOf = (version: number) =>
        Object.entries(record.aliases)
          .filter(([, target]) => target === version)
          .map(([alias]) => alias)
          .sort();
      for (const version of record.versions) {
        const item: VersionSearchItem = { ...version, aliases: aliasesOf(version.version) };
        const text = [
          version.name,
          version.display_name,
          version.description,
          version.notes,
          version.base_model,
          version.role,
          version.group,
          ...version.tags,
        ]
          .filter((part) => part !== undefined)
          .join("\n")
          .toLowerCase();
        this.sql.exec(
          `INSERT INTO registry_versions (name, version, model_revision, stage, kind, role, grp, tags, backends,
             locations, categories, metrics, benchmark_scores, search_text, sha256, created_at, updated_at, doc)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          version.name,
          version.version,
          record.revision,
          version.stage,
          version.kind,
          version.role ?? null,
          version.group ?? null,
          JSON.stringify(version.tags),
          JSON.stringify(version.deployed_backends),
          JSON.stringify(Object.keys(version.locations)),
          JSON.stringify(version.categories),
          JSON.stringify(version.metrics),
          JSON.stringify(version.benchmark_scores),
          text,
          version.artifact.sha256,
          version.created_at,
          version.updated_at,
          JSON.stringify(item),
        );
        for (const sha256 of referencedSha256s(version)) {
          this.sql.exec(
            "INSERT INTO registry_version_files (name, version, sha256) VALUES (?, ?, ?)",
            version.name,
            version.version,
            sha256,
          );
        }
      }
    });
  }

  clear(): void {
    this.sql.exec("DELETE FROM registry_versions");
    this.sql.exec("DELETE FROM registry_version_files");
    this.sql.exec("DELETE FROM registry_index_state");
  }

  /**
   * How many live versions reference an object (as artifact, tokenizer file, converted artifact
   * or pipeline file): a purge only deletes objects no one else uses.
   */
  countFileUsers(sha256: string): number {
    return this.sql
      .exec<{ users: number }>("SELECT count(*) AS users FROM registry_version_files WHERE sha256 = ?", sha256)
      .one().users;
  }

  /**
   * Live, unarchived versions whose serving config asks for warm replicas (issue 17): what the
   * edge tells workers to preload. A scan with `json_extract`, fine for registries of thousands.
   */
  versionsWithReplicas(): ModelVersion[] {
    const rows = this.sql
      .exec<{ doc: string }>(
        `SELECT doc FROM registry_versions
         WHERE stage != 'Archived' AND coalesce(json_extract(doc, '$.serving.placement.min_replicas'), 0) > 0
         ORDER BY name, version`,
      )
      .toArray();
    const versions: ModelVersion[] = [];
    for (const row of rows) {
      const { aliases: _aliases, ...doc } = JSON.parse(row.doc) as Record<string, unknown>;
      const parsed = ModelVersionSchema.safeParse(doc);
      if (parsed.success) versions.push(parsed.data);
    }
    return versions;
  }

  search(query: VersionSearchQuery): Result<VersionSearchPage> {
    const sort = parseSearchSort(query.sort);
    const order = query.order ?? defaultSearchOrder(sort);
    const fingerprint = searchFingerprint({ ...query, order });
    const where: string[] = [];
    const params: SqlValue[] = [];
    const equals: [keyof VersionSearchQuery, string][] = [
      ["name", "name"],
      ["role", "role"],
      ["group", "grp"],
      ["stage", "stage"],
      ["kind", "kind"],
    ];
    for (const [field, column] of equals) {
      const value = query[field];
      if (typeof value === "string") {
        where.push(`${column} = ?`);
        params.push(value);
      }
    }
    const contains: [keyof VersionSearchQuery, string][] = [
      ["tag", "tags"],
      ["backend", "backends"],
      ["location", "locations"],
      ["category", "categories"],
    ];
    for (const [field, column] of contains) {
      const value = query[field];
      if (typeof value === "string") {
        where.push(`EXISTS (SELECT 1 FROM json_each(registry_versions.${column}) WHERE json_each.value = ?)`);
        params.push(value);
      }
    }
    if (query.q !== undefined) {
      where.push("search_text LIKE ? ESCAPE '\\'");
      params.push(likePattern(query.q));
    }
    const filter = where.length > 0 ? `WHERE ${where.join(" AND ")}` : "";
    const total = this.sql
      .exec<{ total: number }>(`SELECT count(*) AS total FROM registry_versions ${filter}`, ...params)
      .one().total;

    const key = sortExpression(sort);
    const direction = order === "asc" ? ">" : "<";
    const page: string[] = [...where];
    const pageParams: SqlValue[] = [...params];
    if (query.cursor !== undefined) {
      const cursor = decodeSearchCursor(query.cursor);
      if (!cursor || cursor.query !== fingerprint) {
        return err(
          new ModelgateError(
            "validation_failed",
            "Invalid cursor: pass back next_cursor with the same filters and sort.",
            [{ field: "cursor", message: "not a cursor issued for this query" }],
          ),
        );
      }
      // Keyset pagination over (value IS NULL, value, name, version): rows without the sort
      // value come last, so a page boundary inside them only compares the tie-breakers.
      if (cursor.value === null) {
        page.push(`(${key.sql} IS NULL AND (name, version) > (?, ?))`);
        pageParams.push(...key.params, cursor.name, cursor.version);
      } else {
        page.push(`(${key.sql} IS NULL OR ${key.sql} ${direction} ? OR (${key.sql} = ? AND (name, version) > (?, ?)))`);
        pageParams.push(
          ...key.params,
          ...key.params,
          cursor.value,
          ...key.params,
          cursor.value,
          cursor.name,
          cursor.version,
        );
      }
    }
    const pageFilter = page.length > 0 ? `WHERE ${page.join(" AND ")}` : "";
    const rows = this.sql
      .exec<{ doc: string; sort_value: SqlValue; name: string; version: number }>(
        `SELECT doc, ${key.sql} AS sort_value, name, version FROM registry_versions ${pageFilter}
         ORDER BY (${key.sql} IS NULL), ${key.sql} ${order.toUpperCase()}, name ASC, version ASC LIMIT ?`,
        ...key.params,
        ...pageParams,
        ...key.params,
        ...key.params,
        query.limit + 1,
      )
      .toArray();
    const items = rows.slice(0, query.limit).map((row) => JSON.parse(row.doc) as VersionSearchItem);
    const last = rows.length > query.limit ? rows[query.limit - 1] : undefined;
    const next_cursor = last
      ? encodeSearchCursor({ value: last.sort_value, name: last.name, version: last.version, query: fingerprint })
      : null;
    return ok({ items, next_cursor, total });
  }
}
