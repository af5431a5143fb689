/**
 * The traffic view's window choices, kept in the address (`#/traffic?window=1h`) so a reload or
 * a shared link shows the same window. The API takes `from`/`to`; `to` is left to the edge
 * ("now" by its clock, not this browser's).
 */
export const WINDOWS = [
  { id: "15m", label: "Last 15 min", ms: 15 * 60 * 1000 },
  { id: "1h", label: "Last hour", ms: 60 * 60 * 1000 },
  { id: "24h", label: "Last 24 h", ms: 24 * 60 * 60 * 1000 },
  { id: "7d", label: "Last 7 days", ms: 7 * 24 * 60 * 60 * 1000 },
] as const;

export type AnalyticsWindowChoice = (typeof WINDOWS)[number];

/** The edge's own default window is 24 hours; the console starts at the last hour, which is what an operator watching a change wants. */
export const DEFAULT_WINDOW: AnalyticsWindowChoice = WINDOWS[1];

export function windowFromQuery(query: URLSearchParams): AnalyticsWindowChoice {
  const id = query.get("window");
  return WINDOWS.find((choice) => choice.id === id) ?? DEFAULT_WINDOW;
}

/** `?from=` for the window ending now. */
export function windowQuery(choice: AnalyticsWindowChoice, nowMs: number): { from: string } {
  return { from: new Date(nowMs - choice.ms).toISOString() };
}
