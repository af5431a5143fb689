/**
 * One write from a form: busy while it runs (the button is disabled, so a double click sends it
 * once), then either what it did (a short confirmation) or the edge's refusal as an ErrorNotice.
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorNotice } from "../../components/status.js";

export type ActionState =
  | { state: "idle" }
  | { state: "busy" }
  | { state: "done"; message: string }
  | { state: "failed"; error: unknown };

export interface Action {
  status: ActionState;
  busy: boolean;
  /** Runs `write`; its answer is the confirmation to show. Errors become the failed state. */
  run(write: () => Promise<string>): Promise<void>;
  reset(): void;
}

export function useAction(): Action {
  const [status, setStatus] = useState<ActionState>({ state: "idle" });
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );
  return {
    status,
    busy: status.state === "busy",
    async run(write) {
      setStatus({ state: "busy" });
      try {
        const message = await write();
        if (mounted.current) setStatus({ state: "done", message });
      } catch (error) {
        if (mounted.current) setStatus({ state: "failed", error });
      }
    },
    reset: () => setStatus({ state: "idle" }),
  };
}

/** Where a form says how its last write went. */
export function ActionResult({ action, children }: { action: Action; children?: ComponentChildren }) {
  const { status } = action;
  if (status.state === "failed") return <ErrorNotice error={status.error} />;
  if (status.state === "done") {
    return (
      <div class="notice ok" role="status">
        <p>{status.message}</p>
        {children}
      </div>
    );
  }
  return null;
}
