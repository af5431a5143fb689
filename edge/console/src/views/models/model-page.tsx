/**
 * `#/models/<name>`: one model as a whole — its versions with their stages, its aliases (set and
 * removed here by a key with models:write), its registration policy and its full history.
 */
import type { ModelHistory, ModelView } from "@modelgate/shared";
import { useSession } from "../../api/session.js";
import { href } from "../../app/router.js";
import { ErrorNotice, Loading } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { useApi } from "../../components/use-api.js";
import { AliasEditor } from "./alias-editor.js";
import { formatNumber, stageTone, versionLabel } from "./format.js";
import { HistoryTimeline } from "./history-timeline.js";
import { Facts } from "./version-details.js";

const path = (name: string) => `/v1/models/${encodeURIComponent(name)}`;

export function ModelPage({ name }: { name: string }) {
  const { api } = useSession();
  const [model, reloadModel] = useApi((signal) => api.get<ModelView>(path(name), undefined, signal), [name]);
  const [history, reloadHistory] = useApi(
    (signal) => api.get<ModelHistory>(`${path(name)}/history`, undefined, signal),
    [name],
  );
  const changed = () => {
    reloadModel();
    reloadHistory();
  };

  return (
    <section class="models-model-page">
      <Breadcrumbs name={name} />
      <h1>{name}</h1>
      {model.state === "loading" ? <Loading what={`model ${name}`} /> : null}
      {model.state === "failed" ? <ErrorNotice error={model.error} /> : null}
      {model.state === "ready" ? <ModelDetails model={model.value} onChanged={changed} /> : null}
      <h2 id="model-history">History</h2>
      {history.state === "loading" ? <Loading what="the history" /> : null}
      {history.state === "failed" ? <ErrorNotice error={history.error} /> : null}
      {history.state === "ready" ? (
        <HistoryTimeline model={name} events={history.value.events} label={`History of ${name}`} />
      ) : null}
    </section>
  );
}

export function Breadcrumbs({ name, version }: { name: string; version?: string }) {
  return (
    <nav aria-label="Breadcrumb" class="models-breadcrumbs">
      <a href="#/models">Models</a>
      <span aria-hidden="true"> / </span>
      {version === undefined ? (
        <span aria-current="page">{name}</span>
      ) : (
        <>
          <a href={href("models", name)}>{name}</a>
          <span aria-hidden="true"> / </span>
          <span aria-current="page">{version}</span>
        </>
      )}
    </nav>
  );
}

function ModelDetails({ model, onChanged }: { model: ModelView; onChanged: () => void }) {
  const newestFirst = [...model.versions].sort((a, b) => b.version - a.version);
  const aliasesOf = (version: number) =>
    Object.entries(model.aliases)
      .filter(([, target]) => target === version)
      .map(([alias]) => alias);
  const { policy } = model;
  const relation = policy.higher_is_better ? "≥" : "≤";
  return (
    <>
      <Facts
        label="Model facts"
        facts={[
          ["Versions", `${model.versions.length} live (numbers up to ${model.last_version}; never reused)`],
          ["Created", <Timestamp key="created" iso={model.created_at} />],
          ["Last change", <Timestamp key="updated" iso={model.updated_at} />],
          ["History", `${model.history_length} entries`],
        ]}
      />

      <h2>Versions</h2>
      {newestFirst.length === 0 ? (
        <p class="empty">No live versions.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Stage</th>
                <th scope="col">Aliases</th>
                <th scope="col">Formats</th>
                <th scope="col">Tags</th>
                <th scope="col">Registered</th>
              </tr>
            </thead>
            <tbody>
              {newestFirst.map((version) => (
                <tr key={version.version}>
                  <th scope="row">
                    <a href={href("models", model.name, version.version)}>
                      {versionLabel(model.name, version.version)}
                    </a>
                  </th>
                  <td>
                    <span class={`badge ${stageTone(version.stage)}`}>{version.stage}</span>
                  </td>
                  <td>
                    {aliasesOf(version.version)
                      .map((alias) => `@${alias}`)
                      .join(" ") || "—"}
                  </td>
                  <td>
                    {["fp32", ...Object.keys(version.converted_formats ?? {})].join(", ")}
                    {version.serving_format ? <span class="muted"> (serves {version.serving_format})</span> : null}
                  </td>
                  <td>{version.tags.join(", ") || "—"}</td>
                  <td>
                    <Timestamp iso={version.created_at} /> <span class="muted">by {version.created_by}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Aliases</h2>
      <AliasEditor
        model={model.name}
        aliases={model.aliases}
        versions={newestFirst.map((version) => version.version)}
        onChanged={onChanged}
      />

      <h2>Registration policy</h2>
      <p>
        A new version needs <code>{policy.metric}</code> {relation} {formatNumber(policy.register_min)} to be
        registered, and {relation} {formatNumber(policy.staging_min)} to go straight to Staging
        {policy.higher_is_better ? "" : " (lower is better)"}. A version without the metric registers in stage None.
      </p>
    </>
  );
}
