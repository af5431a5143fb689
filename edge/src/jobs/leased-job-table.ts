import type { z } from "zod";
import type { JobStatus, LeasedJob } from "./job-leases.js";

export interface LeasedJobFilter {
  model?: string | undefined;
  status?: JobStatus | undefined;
  limit: number;
}

type SqlValue = string | number | null;

export interface LeasedJobTableOptions<J> {
  /** The SQLite table's name inside its Durable Object. */
  table: string;
  /** Parses a stored document (every read goes through it, so a bad row is never served). */
  schema: z.ZodType<J>;
  /** The model a job is filed under, for lists filtered by model. */
  modelOf: (job: J) => string;
}

/**
 * A leased-job queue's SQLite table inside its Durable Object: the job document as JSON, plus
 * the columns the queue orders and filters by. Every call is synchronous, so a caller that
 * reads and writes without awaiting in between cannot interleave with another request.
 */
export class LeasedJobTable<J extends LeasedJob> {
  readonly #table: string;

  constructor(
    private readonly sql: SqlStorage,
    private readonly options: LeasedJobTableOptions<J>,
  ) {
    const table = options.table;
    this.#table = table;
    // `seq` orders the queue: FIFO for claims, newest first for lists (timestamps can tie).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${table} (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       model TEXT NOT NULL,
       status TEXT NOT NULL,
       lease_expires_ms INTEGER,
       doc TEXT NOT NULL)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_status ON ${table} (status, seq)`);
    this.sql.exec(`CREATE INDEX IF NOT EXISTS ${table}_model ON ${table} (model, seq)`);
  }

  insert(job: J): void {
    this.sql.exec(
      `INSERT INTO ${this.#table} (id, model, status, lease_expires_ms, doc) VALUES (?, ?, ?, ?, ?)`,
      job.id,
      this.options.modelOf(job),
      job.status,
      leaseMs(job),
      JSON.stringify(job),
    );
  }

  update(job: J): void {
    this.sql.exec(
      `UPDATE ${this.#table} SET status = ?, lease_expires_ms = ?, doc = ? WHERE id = ?`,
      job.status,
      leaseMs(job),
      JSON.stringify(job),
      job.id,
    );
  }

  get(id: string): J | undefined {
    return this.select(`SELECT doc FROM ${this.#table} WHERE id = ?`, [id])[0];
  }

  oldestQueued(): J | undefined {
    return this.select(`SELECT doc FROM ${this.#table} WHERE status = 'queued' ORDER BY seq LIMIT 1`, [])[0];
  }

  /** Jobs per status, for the edge's metrics. */
  countsByStatus(): Partial<Record<JobStatus, number>> {
    const counts: Partial<Record<JobStatus, number>> = {};
    for (const row of this.sql.exec<{ status: string; jobs: number }>(
      `SELECT status, count(*) AS jobs FROM ${this.#table} GROUP BY status`,
    )) {
      counts[row.status as JobStatus] = row.jobs;
    }
    return counts;
  }

  runningWithLeaseBefore(now: number): J[] {
    return this.select(
      `SELECT doc FROM ${this.#table} WHERE status = 'running' AND lease_expires_ms <= ? ORDER BY seq`,
      [now],
    );
  }

  /** When the next running job's lease runs out, for the alarm; undefined when nothing runs. */
  earliestLeaseExpiry(): number | undefined {
    const row = this.sql
      .exec<{ next: number | null }>(
        `SELECT min(lease_expires_ms) AS next FROM ${this.#table} WHERE status = 'running'`,
      )
      .one();
    return row.next ?? undefined;
  }

  /** Queued or running jobs filed under one model. */
  activeForModel(model: string): J[] {
    return this.select(
      `SELECT doc FROM ${this.#table} WHERE model = ? AND status IN ('queued', 'running') ORDER BY seq`,
      [model],
    );
  }

  list(filter: LeasedJobFilter): J[] {
    const conditions: string[] = [];
    const params: SqlValue[] = [];
    if (filter.model !== undefined) {
      conditions.push("model = ?");
      params.push(filter.model);
    }
    if (filter.status !== undefined) {
      conditions.push("status = ?");
      params.push(filter.status);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    return this.select(`SELECT doc FROM ${this.#table} ${where} ORDER BY seq DESC LIMIT ?`, [...params, filter.limit]);
  }

  private select(query: string, params: SqlValue[]): J[] {
    return this.sql
      .exec<{ doc: string }>(query, ...params)
      .toArray()
      .map((row) => this.options.schema.parse(JSON.parse(row.doc)));
  }
}

const leaseMs = (job: LeasedJob): number | null =>
  job.status === "running" && job.lease_expires_at !== undefined ? Date.parse(job.lease_expires_at) : null;
