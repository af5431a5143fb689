/**
 * Polls `GET /v1/workers` every second while the fleet view is shown. The next poll is
 * scheduled when the previous one has answered, so a slow edge is never asked twice at once;
 * a failed poll keeps the last fleet on screen (marked with the error) and the polling goes on,
 * so the view recovers by itself when the edge does.
 */
import type { WorkerListEntry } from "@modelgate/shared";
import { useEffect, useState } from "preact/hooks";
import type { ApiClient } from "../../api/client.js";
import { type FleetHistory, recordFleet } from "./fleet-history.js";

export const FLEET_POLL_MS = 1000;

export interface FleetState {
  workers: WorkerListEntry[] | undefined;
  history: FleetHistory;
  /** When the edge last answered (ISO). */
  updatedAt: string | undefined;
  /** The last poll's failure; cleared by the next success. */
  error: unknown;
}

export function useFleet(api: ApiClient): FleetState {
  const [state, setState] = useState<FleetState>({
    workers: undefined,
    history: {},
    updatedAt: undefined,
    error: undefined,
  });
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      // A hidden tab need not keep the edge busy; it catches up on the next visible tick.
      if (!document.hidden) {
        try {
          const { workers } = await api.get<{ workers: WorkerListEntry[] }>(
            "/v1/workers",
            undefined,
            controller.signal,
          );
          setState((before) => ({
            workers,
            history: recordFleet(before.history, workers),
            updatedAt: new Date().toISOString(),
            error: undefined,
          }));
        } catch (error) {
          if (controller.signal.aborted) return;
          setState((before) => ({ ...before, error }));
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(poll, FLEET_POLL_MS);
    };
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [api]);
  return state;
}
