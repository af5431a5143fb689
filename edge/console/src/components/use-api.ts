/** Data from the API for a view: loading, the value, or the error; and a way to load it again. */
import { useCallback, useEffect, useState } from "preact/hooks";

export type Loaded<T> = { state: "loading" } | { state: "ready"; value: T } | { state: "failed"; error: unknown };

export function useApi<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: "loading" });
  const [attempt, setAttempt] = useState(0);
  // The caller names what the load depends on (`deps`), as with useEffect itself.
  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (value) => !controller.signal.aborted && setResult({ state: "ready", value }),
      (error: unknown) => !controller.signal.aborted && setResult({ state: "failed", error }),
    );
    return () => controller.abort();
  }, [...deps, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return [result, reload];
}

/** Calls `tick` every `everyMs` while the view is shown (fleet and job progress: polling ≤ 2 s). */
export function useInterval(tick: () => void, everyMs: number): void {
  useEffect(() => {
    const timer = setInterval(tick, everyMs);
    return () => clearInterval(timer);
  }, [tick, everyMs]);
}
