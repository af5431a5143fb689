/**
 * `#/models/<name>/<version>` (a number, `latest`, a stage or an alias): one version with all
 * seed 003 says about it, its stage history, aliases, verification and converted formats, and —
 * for a key with models:write — the forms that change it. Every write reloads what it touched.
 */
import type { ConversionJob, ModelHistory, VersionVerificationView, VersionWithAliases } from "@modelgate/shared";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { ErrorNotice, Loading } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { type Loaded, useApi } from "../../components/use-api.js";
import { AliasEditor } from "./alias-editor.js";
import { ConversionForm, ConversionProgress, isFinished } from "./conversion.js";
import { stageTone, versionLabel } from "./format.js";
import { HistoryTimeline } from "./history-timeline.js";
import { MetadataForm } from "./metadata-form.js";
import { Breadcrumbs } from "./model-page.js";
import { StageForm } from "./stage-form.js";
import { ConvertedFormats, SourceVerification } from "./verification.js";
import { Deployment, TensorTable, TrainingDetails, VersionOverview } from "./version-details.js";

/** Shows a section's data once loaded, its loading line, or the problem that stopped it. */
function Section<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (value: T) => ComponentChildren;
}) {
  if (loaded.state === "loading") return <Loading what={what} />;
  if (loaded.state === "failed") return <ErrorNotice error={loaded.error} />;
  return <>{children(loaded.value)}</>;
}

export function VersionPage({ name, reference }: { name: string; reference: string }) {
  const { api } = useSession();
  const base = `/v1/models/${encodeURIComponent(name)}`;
  const versionPath = `${base}/versions/${encodeURIComponent(reference)}`;
  const [version, reloadVersion] = useApi(
    (signal) => api.get<VersionWithAliases>(versionPath, undefined, signal),
    [versionPath],
  );
  const [verification, reloadVerification] = useApi(
    (signal) => api.get<VersionVerificationView>(`${versionPath}/verification`, undefined, signal),
    [versionPath],
  );
  const [history, reloadHistory] = useApi(
    (signal) => api.get<ModelHistory>(`${base}/history`, undefined, signal),
    [base],
  );
  const changed = () => {
    reloadVersion();
    reloadVerification();
    reloadHistory();
  };

  return (
    <section class="models-version-page">
      <Breadcrumbs name={name} version={reference} />
      <h1>{versionLabel(name, reference)}</h1>
      {version.state === "loading" ? <Loading what={`version ${reference} of ${name}`} /> : null}
      {version.state === "failed" ? <ErrorNotice error={version.error} /> : null}
      {version.state === "ready" ? (
        <VersionBody version={version.value} verification={verification} history={history} onChanged={changed} />
      ) : null}
    </section>
  );
}

function VersionBody({
  version,
  verification,
  history,
  onChanged,
}: {
  version: VersionWithAliases;
  verification: Loaded<VersionVerificationView>;
  history: Loaded<ModelHistory>;
  onChanged: () => void;
}) {
  const { can } = useSession();
  const writable = can("models:write");
  const aliases = Object.fromEntries(version.aliases.map((alias) => [alias, version.version]));
  return (
    <>
      <p class="row models-summary">
        <span class={`badge ${stageTone(version.stage)}`}>{version.stage}</span>
        <span>{version.kind}</span>
        {version.aliases.map((alias) => (
          <code key={alias}>@{alias}</code>
        ))}
        <span class="muted">serves {version.serving_format ?? "fp32"}</span>
      </p>
      <VersionOverview version={version} />

      {writable ? (
        <>
          <h2>Change it</h2>
          <div class="grid models-actions">
            <section class="card" aria-labelledby="stage-heading">
              <h3 id="stage-heading">Stage</h3>
              <StageForm version={version} onChanged={onChanged} />
            </section>
            <section class="card" aria-labelledby="metadata-heading">
              <h3 id="metadata-heading">Tags and notes</h3>
              <MetadataForm version={version} onChanged={onChanged} />
            </section>
          </div>
        </>
      ) : null}

      <h2>Aliases</h2>
      <AliasEditor model={version.name} aliases={aliases} fixedVersion={version.version} onChanged={onChanged} />

      <h2>Stage history</h2>
      <Section loaded={history} what="the history">
        {(value) => (
          <HistoryTimeline
            model={version.name}
            events={value.events.filter((event) => event.version === version.version)}
            label={`History of ${versionLabel(version.name, version.version)}`}
          />
        )}
      </Section>

      <h2>Conversions</h2>
      <Conversions
        name={version.name}
        version={version.version}
        maxContext={version.max_context_tokens}
        onFinished={onChanged}
      />

      <h2>Verification</h2>
      <Section loaded={verification} what="the verification">
        {(value) => <SourceVerification view={value} />}
      </Section>
      <h2>Converted formats</h2>
      <Section loaded={verification} what="the converted formats">
        {(value) => <ConvertedFormats view={value} />}
      </Section>

      <h2>Training</h2>
      <TrainingDetails version={version} />
      <h2>Deployment</h2>
      <Deployment version={version} />
      <h2>Inputs and outputs</h2>
      <TensorTable caption="I/O contract" inputs={version.io.inputs} outputs={version.io.outputs} />
    </>
  );
}

const EARLIER_JOBS_SHOWN = 5;

/** The version's conversion jobs: those still running (and those started here) followed live. */
function Conversions({
  name,
  version,
  maxContext,
  onFinished,
}: {
  name: string;
  version: number;
  maxContext: number | undefined;
  onFinished: () => void;
}) {
  const { api, can } = useSession();
  const [started, setStarted] = useState<ConversionJob[]>([]);
  const [jobs] = useApi(
    (signal) =>
      api
        .get<{ jobs: ConversionJob[] }>("/v1/conversions", { model: name, limit: 50 }, signal)
        .then((answer) => answer.jobs.filter((job) => job.version === version)),
    [name, version],
  );
  const startedIds = new Set(started.map((job) => job.id));
  const listed = jobs.state === "ready" ? jobs.value.filter((job) => !startedIds.has(job.id)) : [];
  const followed = [...started, ...listed.filter((job) => !isFinished(job))];
  const earlier = listed.filter(isFinished).slice(0, EARLIER_JOBS_SHOWN);
  return (
    <>
      {can("models:write") ? (
        <ConversionForm
          name={name}
          version={version}
          maxContext={maxContext}
          onQueued={(job) => setStarted((jobsSoFar) => [job, ...jobsSoFar])}
        />
      ) : null}
      {followed.map((job) => (
        <ConversionProgress key={job.id} initial={job} onFinished={onFinished} />
      ))}
      {jobs.state === "failed" ? <ErrorNotice error={jobs.error} /> : null}
      {earlier.length > 0 ? (
        <div class="table-wrap">
          <table class="models-table">
            <caption>Earlier conversion jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Targets</th>
                <th scope="col">Status</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {earlier.map((job) => (
                <tr key={job.id}>
                  <th scope="row">
                    <code>{job.id}</code>
                  </th>
                  <td>{job.targets.join(", ")}</td>
                  <td>
                    <span class={`badge ${job.status === "succeeded" ? "ok" : "bad"}`}>{job.status}</span>
                    {job.errors.at(-1) ? <div class="muted">{job.errors.at(-1)?.message}</div> : null}
                  </td>
                  <td>{job.finished_at ? <Timestamp iso={job.finished_at} /> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
