/**
 * One streamed generation at a time: `POST /v1/generate` with `stream: true`, read event by
 * event (`token` text as it appears, a `loop` report once each loop is judged, then one `done`
 * or `error`). A 400 arrives before the stream opens and fails the run with its field errors;
 * Stop aborts the request, which the edge passes on to the worker.
 */
import type { GenerateRequest, GenerateResponse, ProblemDetails, RefinementLoop } from "@modelgate/shared";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { type ApiClient, ApiError, type RouteInfo, readEventStream, routeInfoOf } from "../../api/client.js";

export type RunPhase = "idle" | "starting" | "streaming" | "done" | "failed" | "stopped";

export interface GenerationRun {
  phase: RunPhase;
  route?: RouteInfo;
  /** Loops the worker has reported (judged), in order. */
  loops: RefinementLoop[];
  /** The loop still being generated, as its text has streamed so far. */
  live?: { loop: number; text: string };
  result?: GenerateResponse;
  error?: unknown;
  /** Milliseconds from sending to the first token, and to the end, as this browser saw them. */
  firstTokenMs?: number;
  totalMs?: number;
}

const IDLE: GenerationRun = { phase: "idle", loops: [] };

function problemError(data: string): ApiError {
  try {
    const problem = JSON.parse(data) as ProblemDetails;
    return new ApiError(problem.status ?? 502, problem.detail ?? problem.title, problem);
  } catch {
    return new ApiError(502, "The stream ended with an error the console could not read.");
  }
}

/** The run after one server-sent event. */
export function applyEvent(run: GenerationRun, event: string, data: string): GenerationRun {
  switch (event) {
    case "token": {
      const token = JSON.parse(data) as { loop: number; text: string };
      const text = run.live?.loop === token.loop ? run.live.text + token.text : token.text;
      return { ...run, live: { loop: token.loop, text } };
    }
    case "loop": {
      const loop = JSON.parse(data) as RefinementLoop;
      return { ...run, loops: [...run.loops, loop], live: run.live?.loop === loop.loop ? undefined : run.live };
    }
    case "done":
      return { ...run, phase: "done", live: undefined, result: JSON.parse(data) as GenerateResponse };
    case "error":
      return { ...run, phase: "failed", live: undefined, error: problemError(data) };
    default:
      return run;
  }
}

export function useGeneration(api: ApiClient) {
  const [run, setRun] = useState<GenerationRun>(IDLE);
  const controller = useRef<AbortController | undefined>(undefined);
  useEffect(() => () => controller.current?.abort(), []);

  const start = useCallback(
    async (body: GenerateRequest) => {
      controller.current?.abort();
      const own = new AbortController();
      controller.current = own;
      const startedAt = performance.now();
      // Updates from a run that was stopped or replaced are dropped.
      const update = (change: (run: GenerationRun) => GenerationRun) => {
        if (controller.current === own) setRun(change);
      };
      setRun({ phase: "starting", loops: [] });
      try {
        const response = await api.send("POST", "/v1/generate", {
          body: { ...body, stream: true },
          signal: own.signal,
        });
        update((current) => ({ ...current, phase: "streaming", route: routeInfoOf(response) }));
        if (!response.body) throw new ApiError(502, "The edge answered without a stream.");
        for await (const { event, data } of readEventStream(response.body)) {
          update((current) => {
            const next = applyEvent(current, event, data);
            return next.firstTokenMs === undefined && event === "token"
              ? { ...next, firstTokenMs: performance.now() - startedAt }
              : next;
          });
          if (event === "done" || event === "error") break;
        }
        update((current) =>
          current.phase === "streaming"
            ? { ...current, phase: "failed", error: new ApiError(502, "The stream ended before its result.") }
            : current,
        );
      } catch (error) {
        if (own.signal.aborted) {
          update((current) => ({ ...current, phase: "stopped" }));
        } else {
          update((current) => ({ ...current, phase: "failed", error }));
        }
      } finally {
        update((current) => ({ ...current, totalMs: performance.now() - startedAt }));
        if (controller.current === own) controller.current = undefined;
      }
    },
    [api],
  );

  const stop = useCallback(() => {
    const own = controller.current;
    if (!own) return;
    // Forget it first: what the aborted read still reports is dropped, the partial text stays.
    controller.current = undefined;
    own.abort();
    setRun((current) => ({ ...current, phase: "stopped" }));
  }, []);

  return { run, start, stop };
}
