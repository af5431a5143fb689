/**
 * Conversions of one version: a form to request one (`POST …/conversions`, 202 with the job),
 * and each job that is still queued or running followed live (`GET /v1/conversions/:id` every
 * half second: its step, a progress bar and any errors) until it ends or the page is left.
 * When a job ends the page reloads the version, so new formats and gates appear by themselves.
 */
import type { ConversionJob, ConversionJobStatus } from "@modelgate/shared";
import { useEffect, useRef, useState } from "preact/hooks";
import type { ApiClient } from "../../api/client.js";
import { useSession } from "../../api/session.js";
import { ErrorNotice } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { ActionResult, useAction } from "./action-state.js";
import { splitList, TARGETS, type Target } from "./format.js";

/** The issue asks for ≤ 1 s; half a second shows each pipeline step of a 2-second job. */
const POLL_MS = 500;
const FINISHED: ReadonlySet<ConversionJobStatus> = new Set(["succeeded", "failed", "cancelled"]);
/** Seed 001's enumeration (T128…T4096); a model's context bounds what can pass. */
const DEFAULT_SHAPES = [128, 512, 1024, 2048, 4096];

export const isFinished = (job: ConversionJob) => FINISHED.has(job.status);

export function ConversionForm({
  name,
  version,
  maxContext,
  onQueued,
}: {
  name: string;
  version: number;
  maxContext: number | undefined;
  onQueued: (job: ConversionJob) => void;
}) {
  const { api } = useSession();
  const action = useAction();
  const [targets, setTargets] = useState<Set<Target>>(() => new Set(["int8"]));
  const [shapes, setShapes] = useState(() =>
    DEFAULT_SHAPES.filter((shape) => maxContext === undefined || shape <= maxContext).join(", "),
  );
  const [primary, setPrimary] = useState("");

  const toggle = (target: Target, on: boolean) => {
    const next = new Set(targets);
    if (on) next.add(target);
    else next.delete(target);
    setTargets(next);
  };
  const submit = (event: Event) => {
    event.preventDefault();
    const shapeList = splitList(shapes).map(Number);
    void action.run(async () => {
      const job = await api.request<ConversionJob>(
        "POST",
        `/v1/models/${encodeURIComponent(name)}/versions/${version}/conversions`,
        {
          body: {
            targets: TARGETS.filter((target) => targets.has(target)),
            ...(shapeList.length > 0 ? { shapes: shapeList } : {}),
            ...(primary.trim() ? { primary: Number(primary) } : {}),
          },
        },
      );
      onQueued(job);
      return `Queued job ${job.id}.`;
    });
  };

  return (
    <form onSubmit={submit} aria-label="Request a conversion" class="models-stack models-narrow">
      <fieldset class="models-targets">
        <legend>Targets</legend>
        {TARGETS.map((target) => (
          <label key={target} class="models-check">
            <input
              type="checkbox"
              name="targets"
              value={target}
              checked={targets.has(target)}
              onChange={(event) => toggle(target, event.currentTarget.checked)}
            />
            {target}
          </label>
        ))}
      </fieldset>
      <label>
        Shapes (sequence lengths, or batch rows for tensor models)
        <input
          name="shapes"
          value={shapes}
          inputMode="numeric"
          onInput={(event) => setShapes(event.currentTarget.value)}
        />
      </label>
      <label>
        Primary shape (must pass; default 1024 or the first)
        <input
          name="primary"
          type="number"
          min={1}
          value={primary}
          onInput={(event) => setPrimary(event.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={action.busy || targets.size === 0}>
        {action.busy ? "Queueing…" : "Convert"}
      </button>
      <ActionResult action={action} />
    </form>
  );
}

/** A job followed until it ends; `onFinished` runs once when it does. */
function useFollowedJob(api: ApiClient, initial: ConversionJob, onFinished: (job: ConversionJob) => void) {
  const [job, setJob] = useState(initial);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [attempt, setAttempt] = useState(0);
  const reported = useRef(isFinished(initial));
  const finished = useRef(onFinished);
  finished.current = onFinished;

  useEffect(() => {
    if (isFinished(job)) {
      if (!reported.current) {
        reported.current = true;
        finished.current(job);
      }
      return;
    }
    if (failure !== undefined) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api.get<ConversionJob>(`/v1/conversions/${encodeURIComponent(job.id)}`, undefined, controller.signal).then(
        (next) => !controller.signal.aborted && setJob(next),
        (error: unknown) => !controller.signal.aborted && setFailure(error),
      );
    }, POLL_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, job, failure, attempt]);

  const retry = () => {
    setFailure(undefined);
    setAttempt((n) => n + 1);
  };
  return { job, setJob, failure, retry };
}

const statusTone = (status: ConversionJobStatus) =>
  status === "succeeded" ? "ok" : status === "failed" || status === "cancelled" ? "bad" : "warn";

export function ConversionProgress({
  initial,
  onFinished,
}: {
  initial: ConversionJob;
  onFinished: (job: ConversionJob) => void;
}) {
  const { api, can } = useSession();
  const { job, setJob, failure, retry } = useFollowedJob(api, initial, onFinished);
  const cancel = useAction();
  const percent = Math.round(job.progress * 100);
  const running = !isFinished(job);
  return (
    <article class="card models-job" aria-label={`Conversion job ${job.id}`} data-status={job.status}>
      <p class="row">
        <strong>{job.targets.join(", ")}</strong>
        <span class="muted">
          shapes {job.shapes.map((shape) => `T${shape}`).join(", ")} · primary T{job.primary}
        </span>
        <span class="muted">
          <Timestamp iso={job.created_at} /> by <code>{job.created_by}</code>
        </span>
      </p>
      <div role="status" aria-live="polite" class="row">
        <span>
          Status <span class={`badge ${statusTone(job.status)}`}>{job.status}</span>
        </span>
        <span>
          Step <strong class="models-job-step">{job.step}</strong>
          {job.step_detail ? ` (${job.step_detail})` : ""}
        </span>
        <span class="models-number">{percent} %</span>
      </div>
      <progress max={1} value={job.progress} aria-label={`Progress of conversion job ${job.id}`}>
        {percent} %
      </progress>
      {job.message ? <p class="muted">{job.message}</p> : null}
      {job.errors.length > 0 ? (
        <ul class="models-job-errors">
          {job.errors.map((error) => (
            <li key={`${error.at}-${error.step}`}>
              <strong>{error.step}</strong>
              {error.target ? ` (${error.target})` : ""}: {error.message}{" "}
              <span class="muted">
                <Timestamp iso={error.at} />
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {failure !== undefined ? (
        <ErrorNotice
          error={failure}
          action={
            <button type="button" class="secondary" onClick={retry}>
              Follow the job again
            </button>
          }
        />
      ) : null}
      {running && can("models:write") ? (
        <button
          type="button"
          class="secondary"
          disabled={cancel.busy || job.cancel_requested}
          onClick={() =>
            void cancel.run(async () => {
              const cancelled = await api.request<ConversionJob>(
                "POST",
                `/v1/conversions/${encodeURIComponent(job.id)}/cancel`,
              );
              setJob(cancelled);
              return "Cancelled.";
            })
          }
        >
          Cancel job
        </button>
      ) : null}
      {cancel.status.state === "failed" ? <ActionResult action={cancel} /> : null}
    </article>
  );
}
