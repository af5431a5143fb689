import { type ConversionJob, ConversionJobSchema, type ConversionJobStatus } from "@modelgate/shared";
import { LeasedJobTable } from "../jobs/leased-job-table.js";

export interface ConversionJobFilter {
  model?: string | undefined;
  status?: ConversionJobStatus | undefined;
  limit: number;
}

/** The conversion queue's table: the leased-job table filed by model, plus the active jobs of one version. */
export class ConversionJobTable extends LeasedJobTable<ConversionJob> {
  constructor(sql: SqlStorage) {
    super(sql, { table: "conversion_jobs", schema: ConversionJobSchema, modelOf: (job) => job.model });
  }

  /** Queued or running jobs of one model version. */
  activeFor(model: string, version: number): ConversionJob[] {
    return this.activeForModel(model).filter((job) => job.version === version);
  }
}
