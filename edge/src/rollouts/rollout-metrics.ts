/**
 * The candidate's figures over one guard window, from the selection events in D1
 * (analytics/selection-events.ts): every request routed to `name@candidate`, by the split or by
 * name, counts. Client errors say nothing about the candidate and are left out.
 */
import type { Rollout, RolloutWindowStats } from "@modelgate/shared";
import { withSelectionEvents } from "../analytics/selection-events.js";

/** Nearest-rank p95 in integer arithmetic (⌈0.95n⌉ = (95n+99)/100), as in selection-analyses.ts. */
export const CANDIDATE_WINDOW_SQL = `
WITH windowed AS (
  SELECT outcome, latency_ms, judge_score FROM selection_events
  WHERE timestamp_ms >= ?2 AND timestamp_ms < ?3 AND selected_model = ?1 AND outcome != 'client_error'
),
ranked AS (
  SELECT latency_ms, ROW_NUMBER() OVER (ORDER BY latency_ms) AS latency_rank, COUNT(*) OVER () AS ok_count
  FROM windowed WHERE outcome = 'ok'
)
SELECT (SELECT COUNT(*) FROM windowed) AS requests,
       (SELECT COUNT(*) FROM windowed WHERE outcome != 'ok') AS errors,
       (SELECT MAX(CASE WHEN latency_rank = (95 * ok_count + 99) / 100 THEN latency_ms END) FROM ranked) AS p95_ms,
       (SELECT COUNT(judge_score) FROM windowed) AS judged,
       (SELECT AVG(judge_score) FROM windowed) AS mean_judge_score`;

interface WindowRow {
  requests: number;
  errors: number;
  p95_ms: number | null;
  judged: number;
  mean_judge_score: number | null;
}

/** The window ends now and reaches back one guard window, but never before the current step began. */
export async function readCandidateWindow(
  db: D1Database,
  name: string,
  rollout: Rollout,
  nowMs: number,
): Promise<RolloutWindowStats> {
  const fromMs = Math.max(Date.parse(rollout.step_started_at), nowMs - rollout.guard.window * 1000);
  const row = await withSelectionEvents(db, () =>
    db.prepare(CANDIDATE_WINDOW_SQL).bind(`${name}@${rollout.candidate}`, fromMs, nowMs).first<WindowRow>(),
  );
  const requests = row?.requests ?? 0;
  const errors = row?.errors ?? 0;
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(nowMs).toISOString(),
    requests,
    errors,
    error_rate: requests > 0 ? errors / requests : null,
    p95_ms: row?.p95_ms ?? null,
    judged: row?.judged ?? 0,
    mean_judge_score: row?.mean_judge_score ?? null,
  };
}
