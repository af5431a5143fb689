/**
 * Selection events in D1 (binding `ANALYTICS`): one row per routed request, written after the
 * response so that analytics never delay or fail inference.
 *
 * The table and its indexes are created on first use in each isolate (`CREATE … IF NOT
 * EXISTS`), so neither `npm start` nor the tests need a migration step; a table dropped
 * behind the isolate's back (tests' `reset()`) is recreated on the next write or query.
 */
import { type SelectionEvent, SelectionEventSchema, type SelectionOutcome } from "@modelgate/shared";
import type { Context } from "hono";
import { routePath } from "hono/route";
import type { AppEnv, EdgeConfig } from "../env.js";
import { logEvent } from "../logging/edge-log.js";

/**
 * Time is stored as epoch milliseconds so that window filters compare integers; booleans as
 * 0/1 (SQLite has no boolean). Nullable columns mirror SelectionEventSchema's nullable fields.
 */
const SCHEMA_STATEMENTS = [
  `CREATE TABLE IF NOT EXISTS selection_events (
    id INTEGER PRIMARY KEY,
    timestamp_ms INTEGER NOT NULL,
    task_category TEXT,
    selected_model TEXT,
    primary_category INTEGER CHECK (primary_category IN (0, 1)),
    confidence_score REAL,
    final_score REAL,
    gpu_id INTEGER,
    worker_id TEXT,
    selection_duration_ms REAL NOT NULL,
    route TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'client_error', 'upstream_error', 'no_worker')),
    status INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    tokens INTEGER,
    request_id TEXT NOT NULL,
    judge_score REAL
  )`,
  // Every analysis filters on the window; models-per-category and category-performance group by category.
  "CREATE INDEX IF NOT EXISTS selection_events_by_time ON selection_events (timestamp_ms)",
  "CREATE INDEX IF NOT EXISTS selection_events_by_category_time ON selection_events (task_category, timestamp_ms)",
];

const INSERT_EVENT = `INSERT INTO selection_events (
    timestamp_ms, task_category, selected_model, primary_category, confidence_score, final_score, gpu_id,
    worker_id, selection_duration_ms, route, outcome, status, latency_ms, tokens, request_id, judge_score
  ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`;

/**
 * `judge_score` came with canary rollouts: a table created before it (a local stack's kept
 * state) gets the column added once; on a table that has it the statement fails harmlessly.
 */
const ADD_JUDGE_SCORE_COLUMN = "ALTER TABLE selection_events ADD COLUMN judge_score REAL";

/** Per isolate and database: the schema statements ran (or are running). */
const schemaReady = new WeakMap<D1Database, Promise<void>>();

function ensureSchema(db: D1Database): Promise<void> {
  let ready = schemaReady.get(db);
  if (!ready) {
    const attempt = db
      .batch(SCHEMA_STATEMENTS.map((sql) => db.prepare(sql)))
      .then(() => db.prepare(ADD_JUDGE_SCORE_COLUMN).run())
      .then(
        () => undefined,
        (error: unknown) => {
          if (!(error instanceof Error && /duplicate column/i.test(error.message))) throw error;
        },
      );
    // A failed attempt must not stick: the next use tries again.
    attempt.catch(() => {
      if (schemaReady.get(db) === attempt) schemaReady.delete(db);
    });
    schemaReady.set(db, attempt);
    ready = attempt;
  }
  return ready;
}

const isMissingTable = (error: unknown) => error instanceof Error && /no such table/i.test(error.message);

/** Runs `work` against an existing table, recreating it once if it vanished since this isolate made it. */
export async function withSelectionEvents<T>(db: D1Database, work: () => Promise<T>): Promise<T> {
  await ensureSchema(db);
  try {
    return await work();
  } catch (error) {
    if (!isMissingTable(error)) throw error;
    schemaReady.delete(db);
    await ensureSchema(db);
    return work();
  }
}

/** Validates and stores one event. Throws on an invalid event or a D1 failure. */
export async function writeSelectionEvent(db: D1Database, event: SelectionEvent): Promise<void> {
  const statement = insertStatement(db, event);
  await withSelectionEvents(db, () => statement.run());
}

/** Stores events in one D1 round trip (a batch is one transaction). */
export async function writeSelectionEvents(db: D1Database, events: readonly SelectionEvent[]): Promise<void> {
  const statements = events.map((event) => insertStatement(db, event));
  await withSelectionEvents(db, () => db.batch(statements));
}

function insertStatement(db: D1Database, event: SelectionEvent): D1PreparedStatement {
  const e = SelectionEventSchema.parse(event);
  return db
    .prepare(INSERT_EVENT)
    .bind(
      Date.parse(e.timestamp),
      e.task_category,
      e.selected_model,
      e.primary_category === null ? null : e.primary_category ? 1 : 0,
      e.confidence_score,
      e.final_score,
      e.gpu_id,
      e.worker_id,
      e.selection_duration_ms,
      e.route,
      e.outcome,
      e.status,
      e.latency_ms,
      e.tokens,
      e.request_id,
      e.judge_score ?? null,
    );
}

let warnedUnbound = false;

/** At most this many events per D1 batch; a full window starts the next. */
const MAX_BATCH_EVENTS = 100;
/** Events waiting for their window to close (this isolate). */
let openBatch: { db: D1Database; events: SelectionEvent[] } | undefined;

/**
 * Records a routed request's selection and outcome after the response is sent
 * (`waitUntil`). Never throws and never delays the request: failures are logged and dropped.
 * Without the `ANALYTICS` binding nothing is recorded (warned once per isolate).
 */
export function recordSelectionEvent(c: Context<AppEnv>, event: SelectionEvent): void {
  const db = c.env.ANALYTICS;
  if (!db) {
    if (!warnedUnbound) logEvent("warn", "selection events are not recorded: no ANALYTICS D1 binding");
    warnedUnbound = true;
    return;
  }
  try {
    // Routes always run after the request context; a bare app (tests) has no config: no batching.
    const batchMs = (c.get("config") as EdgeConfig | undefined)?.MODELGATE_ANALYTICS_BATCH_MS ?? 0;
    if (batchMs <= 0) {
      c.executionCtx.waitUntil(
        writeSelectionEvent(db, event).catch((error: unknown) => {
          logEvent("error", "selection event not recorded", { request_id: event.request_id, error });
        }),
      );
      return;
    }
    // Batched: one D1 write per window instead of one per request (a write per request was a
    // measured share of the edge's cost at 200 req/s). The request that opens a window holds it
    // open with waitUntil and writes the batch when it closes.
    if (openBatch !== undefined && openBatch.db === db && openBatch.events.length < MAX_BATCH_EVENTS) {
      openBatch.events.push(event);
      return;
    }
    const batch = { db, events: [event] };
    openBatch = batch;
    c.executionCtx.waitUntil(
      new Promise((resolve) => setTimeout(resolve, batchMs))
        .then(() => {
          if (openBatch === batch) openBatch = undefined;
          return writeSelectionEvents(db, batch.events);
        })
        .catch((error: unknown) => {
          logEvent("error", "selection events not recorded", { events: batch.events.length, error });
        }),
    );
  } catch (error) {
    // No execution context (e.g. app.request() in a test): there is nothing to hold the write open.
    logEvent("error", "selection event not recorded", { request_id: event.request_id, error });
  }
}

/** What routing knows about one request; the rest of the event comes from the context. */
export interface RoutedRequestFacts {
  task_category?: string | null;
  primary_category?: boolean | null;
  confidence_score?: number | null;
  final_score?: number | null;
  selected_model: string | null;
  gpu_id: number | null;
  worker_id: string | null;
  selection_duration_ms: number;
  status: number;
  /** Derived from `status` when absent (2xx/3xx ok, 4xx client_error, 5xx upstream_error). */
  outcome?: SelectionOutcome;
  tokens?: number | null;
  judge_score?: number | null;
}

export function outcomeForStatus(status: number): SelectionOutcome {
  if (status < 400) return "ok";
  return status < 500 ? "client_error" : "upstream_error";
}

/**
 * The event for the request being handled: arrival time and request id from the request
 * context, the route as registered (`/v2/models/:m/infer`, so a model name does not split it),
 * latency up to now (the response's headers, not a stream's end).
 */
export function selectionEventFor(c: Context<AppEnv>, facts: RoutedRequestFacts): SelectionEvent {
  const now = Date.now();
  const startedAt = c.get("startedAt") ?? now;
  return {
    timestamp: new Date(startedAt).toISOString(),
    task_category: facts.task_category ?? null,
    selected_model: facts.selected_model,
    primary_category: facts.primary_category ?? null,
    confidence_score: facts.confidence_score ?? null,
    final_score: facts.final_score ?? null,
    gpu_id: facts.gpu_id,
    worker_id: facts.worker_id,
    selection_duration_ms: Math.max(0, facts.selection_duration_ms),
    route: routePath(c),
    outcome: facts.outcome ?? outcomeForStatus(facts.status),
    status: facts.status,
    latency_ms: Math.max(0, now - startedAt),
    tokens: facts.tokens ?? null,
    judge_score: facts.judge_score ?? null,
    request_id: c.get("requestId") ?? "unknown",
  };
}
