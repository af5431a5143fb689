import { type ConversionJob, ConversionJobSchema, type ConversionJobStatus } from "@modelgate/shared";

const SCHEMA = [
  // `seq` orders the queue: FIFO for claims, newest first for lists (timestamps can tie).
  `CREATE TABLE IF NOT EXISTS conversion_jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     model TEXT NOT NULL,
     status TEXT NOT NULL,
     lease_expires_ms INTEGER,
     doc TEXT NOT NULL)`,
  "CREATE INDEX IF NOT EXISTS conversion_jobs_status ON conversion_jobs (status, seq)",
  "CREATE INDEX IF NOT EXISTS conversion_jobs_model ON conversion_jobs (model, seq)",
];

export interface ConversionJobFilter {
  model?: string | undefined;
  status?: ConversionJobStatus | undefined;
  limit: number;
}

type SqlValue = string | number | null;

/**
 * The queue's SQLite table inside the Durable Object. Every call is synchronous, so a caller
 * that reads and writes without awaiting in between cannot interleave with another request.
 */
export class ConversionJobTable {
  constructor(private readonly sql: SqlStorage) {
    for (const statement of SCHEMA) this.sql.exec(statement);
  }

  insert(job: ConversionJob): void {
    this.sql.exec(
      "INSERT INTO conversion_jobs (id, model, status, lease_expires_ms, doc) VALUES (?, ?, ?, ?, ?)",
      job.id,
      job.model,
      job.status,
      leaseMs(job),
      JSON.stringify(job),
    );
  }

  update(job: ConversionJob): void {
    this.sql.exec(
      "UPDATE conversion_jobs SET status = ?, lease_expires_ms = ?, doc = ? WHERE id = ?",
      job.status,
      leaseMs(job),
      JSON.stringify(job),
      job.id,
    );
  }

  get(id: string): ConversionJob | undefined {
    return this.select("SELECT doc FROM conversion_jobs WHERE id = ?", [id])[0];
  }

  oldestQueued(): ConversionJob | undefined {
    return this.select("SELECT doc FROM conversion_jobs WHERE status = 'queued' ORDER BY seq LIMIT 1", [])[0];
  }

  /** Jobs per status, for the edge's metrics. */
  countsByStatus(): Partial<Record<ConversionJobStatus, number>> {
    const counts: Partial<Record<ConversionJobStatus, number>> = {};
    for (const row of this.sql.exec<{ status: string; jobs: number }>(
      "SELECT status, count(*) AS jobs FROM conversion_jobs GROUP BY status",
    )) {
      counts[row.status as ConversionJobStatus] = row.jobs;
    }
    return counts;
  }

  runningWithLeaseBefore(now: number): ConversionJob[] {
    return this.select(
      "SELECT doc FROM conversion_jobs WHERE status = 'running' AND lease_expires_ms <= ? ORDER BY seq",
      [now],
    );
  }

  /** When the next running job's lease runs out, for the alarm; undefined when nothing runs. */
  earliestLeaseExpiry(): number | undefined {
    const row = this.sql
      .exec<{ next: number | null }>(
        "SELECT min(lease_expires_ms) AS next FROM conversion_jobs WHERE status = 'running'",
      )
      .one();
    return row.next ?? undefined;
  }

  /** Queued or running jobs of one model version. */
  activeFor(model: string, version: number): ConversionJob[] {
    return this.select(
      "SELECT doc FROM conversion_jobs WHERE model = ? AND status IN ('queued', 'running') ORDER BY seq",
      [model],
    ).filter((job) => job.version === version);
  }

  list(filter: ConversionJobFilter): ConversionJob[] {
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
    return this.select(`SELECT doc FROM conversion_jobs ${where} ORDER BY seq DESC LIMIT ?`, [...params, filter.limit]);
  }

  private select(query: string, params: SqlValue[]): ConversionJob[] {
    return this.sql
      .exec<{ doc: string }>(query, ...params)
      .toArray()
      .map((row) => ConversionJobSchema.parse(JSON.parse(row.doc)));
  }
}

const leaseMs = (job: ConversionJob): number | null =>
  job.status === "running" && job.lease_expires_at !== undefined ? Date.parse(job.lease_expires_at) : null;
