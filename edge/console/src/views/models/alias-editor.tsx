/**
 * A model's free aliases (`demo-lm@champion`): the list, and for a key with models:write a form
 * to point one at a version (`PUT …/aliases/:alias`) and a button to remove each (`DELETE`).
 * On the version page the version is fixed; on the model page it is chosen.
 */
import type { AliasRemoved, AliasSet } from "@modelgate/shared";
import { useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { href } from "../../app/router.js";
import { Empty } from "../../components/status.js";
import { ActionResult, useAction } from "./action-state.js";

const aliasPath = (model: string, alias: string) =>
  `/v1/models/${encodeURIComponent(model)}/aliases/${encodeURIComponent(alias)}`;

export function AliasEditor({
  model,
  aliases,
  versions,
  fixedVersion,
  onChanged,
}: {
  model: string;
  /** alias → version number. */
  aliases: Record<string, number>;
  /** The versions an alias may point at (model page). */
  versions?: readonly number[];
  /** The one version this editor sets aliases to (version page). */
  fixedVersion?: number;
  onChanged: () => void;
}) {
  const { api, can } = useSession();
  const writable = can("models:write");
  const action = useAction();
  const [alias, setAlias] = useState("");
  const [version, setVersion] = useState(String(fixedVersion ?? versions?.[0] ?? ""));
  const [reason, setReason] = useState("");
  const entries = Object.entries(aliases)
    .filter(([, target]) => fixedVersion === undefined || target === fixedVersion)
    .sort(([a], [b]) => a.localeCompare(b));

  const setIt = (event: Event) => {
    event.preventDefault();
    const name = alias.trim();
    const target = Number(version);
    void action.run(async () => {
      const answer = await api.request<AliasSet>("PUT", aliasPath(model, name), {
        body: { version: target, ...(reason.trim() ? { reason: reason.trim() } : {}) },
      });
      setAlias("");
      setReason("");
      onChanged();
      return `@${answer.alias} now points at version ${answer.version}.`;
    });
  };
  const remove = (name: string) =>
    void action.run(async () => {
      await api.request<AliasRemoved>("DELETE", aliasPath(model, name));
      onChanged();
      return `@${name} removed.`;
    });

  return (
    <div class="models-alias-editor">
      {entries.length === 0 ? (
        <Empty>{fixedVersion === undefined ? "No aliases." : "No alias points at this version."}</Empty>
      ) : (
        <ul class="models-aliases">
          {entries.map(([name, target]) => (
            <li key={name}>
              <code>
                {model}@{name}
              </code>{" "}
              → <a href={href("models", model, target)}>version {target}</a>
              {writable ? (
                <button
                  type="button"
                  class="link"
                  disabled={action.busy}
                  aria-label={`Remove alias ${name}`}
                  onClick={() => remove(name)}
                >
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {writable ? (
        <form onSubmit={setIt} aria-label="Set an alias">
          <label>
            Alias
            <input
              name="alias"
              value={alias}
              required
              autocomplete="off"
              spellcheck={false}
              placeholder="champion"
              onInput={(event) => setAlias(event.currentTarget.value)}
            />
          </label>
          {fixedVersion === undefined ? (
            <label>
              Version
              <select name="version" value={version} onChange={(event) => setVersion(event.currentTarget.value)}>
                {(versions ?? []).map((number) => (
                  <option key={number} value={String(number)}>
                    {number}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <label>
            Reason (kept in the history)
            <input name="alias-reason" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
          </label>
          <button type="submit" disabled={action.busy || version === ""}>
            {action.busy ? "Saving…" : "Set alias"}
          </button>
          <ActionResult action={action} />
        </form>
      ) : null}
    </div>
  );
}
