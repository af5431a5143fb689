/**
 * A model's history as a timeline, newest first: every registry write says what changed, who
 * made it (the key id) and why. The version page shows its own version's entries.
 */
import type { HistoryEvent } from "@modelgate/shared";
import { href } from "../../app/router.js";
import { Empty } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { stageTone } from "./format.js";

function Stage({ name }: { name: string | null | undefined }) {
  const stage = name ?? "None";
  return <span class={`badge ${stageTone(stage)}`}>{stage}</span>;
}

function VersionLink({ model, version }: { model: string; version: number | undefined }) {
  if (version === undefined) return null;
  return <a href={href("models", model, version)}>version {version}</a>;
}

/** The sentence an event stands for. */
function EventSummary({ model, event }: { model: string; event: HistoryEvent }) {
  const version = <VersionLink model={model} version={event.version} />;
  switch (event.action) {
    case "registered":
      return (
        <>
          {version} registered in stage <Stage name={event.to} />
        </>
      );
    case "stage_changed":
      return (
        <>
          {version} moved from <Stage name={event.from} /> to <Stage name={event.to} />
          {event.format ? (
            <>
              {" "}
              serving <code>{event.format}</code>
            </>
          ) : null}
          {event.forced ? <span class="badge bad">forced</span> : null}
        </>
      );
    case "alias_set":
      return (
        <>
          alias <code>@{event.alias}</code> set to {version}
          {event.from ? <span class="muted"> (was version {event.from})</span> : null}
        </>
      );
    case "alias_removed":
      return (
        <>
          alias <code>@{event.alias}</code> removed
          {event.from ? <span class="muted"> (was version {event.from})</span> : null}
        </>
      );
    case "metadata_updated":
      return (
        <>
          {version} metadata edited{event.metadata_revision ? ` (revision ${event.metadata_revision})` : ""}
        </>
      );
    case "version_deleted":
      return (
        <>
          {version} deleted{event.purged ? ", artifact purged" : ""}
        </>
      );
    case "model_deleted":
      return <>model deleted{event.purged ? ", artifacts purged" : ""}</>;
    case "policy_updated":
      return <>registration policy changed</>;
    case "conversion_recorded":
      return (
        <>
          {version}: converted format <code>{event.format}</code> recorded
        </>
      );
    case "verification_recorded":
      return <>{version}: verification recorded</>;
  }
}

export function HistoryTimeline({
  model,
  events,
  label,
}: {
  model: string;
  events: readonly HistoryEvent[];
  label: string;
}) {
  if (events.length === 0) return <Empty>No history yet.</Empty>;
  const newestFirst = [...events].sort((a, b) => b.seq - a.seq);
  return (
    <ol class="timeline" aria-label={label}>
      {newestFirst.map((event) => (
        <li key={event.seq} data-action={event.action}>
          <div>
            <EventSummary model={model} event={event} />
          </div>
          {event.reason ? <div class="models-reason">“{event.reason}”</div> : null}
          {event.gates_failed && event.gates_failed.length > 0 ? (
            <div class="muted">overrode failed gates: {event.gates_failed.join(", ")}</div>
          ) : null}
          <div class="muted models-small">
            <Timestamp iso={event.at} /> by <code>{event.by}</code>
            {event.job_id ? (
              <>
                {" "}
                · job <code>{event.job_id}</code>
              </>
            ) : null}
          </div>
        </li>
      ))}
    </ol>
  );
}
