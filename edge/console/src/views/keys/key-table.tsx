/**
 * Every key the edge holds, without secrets: what it may do, its limits, and whether it still
 * works. Revoking and rotating both end the key at once, so each asks to be confirmed in its
 * row first (a real button, not a browser dialog, so it reads and tabs like the rest).
 */
import type { ApiKeyView } from "@modelgate/shared";
import { useEffect, useRef } from "preact/hooks";
import { Timestamp } from "../../components/time.js";

export type KeyAction = "revoke" | "rotate";

export interface PendingAction {
  id: string;
  action: KeyAction;
}

function KeyStatus({ apiKey, now }: { apiKey: ApiKeyView; now: number }) {
  if (apiKey.revoked_at !== undefined) {
    return (
      <>
        <span class="badge bad">revoked</span> <Timestamp iso={apiKey.revoked_at} />
      </>
    );
  }
  if (apiKey.expires_at !== undefined && Date.parse(apiKey.expires_at) <= now) {
    return <span class="badge warn">expired</span>;
  }
  return <span class="badge ok">active</span>;
}

function Confirm({
  apiKey,
  action,
  busy,
  onConfirm,
  onCancel,
}: {
  apiKey: ApiKeyView;
  action: KeyAction;
  busy: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => confirm.current?.focus(), []);
  const what =
    action === "revoke"
      ? `Revoke ${apiKey.name}? It stops working within seconds.`
      : `Rotate ${apiKey.name}? The old secret stops working now; the new one is shown once.`;
  return (
    <fieldset class="keys-confirm" aria-label={`Confirm ${action}`}>
      <legend>{what}</legend>
      <p class="row keys-confirm-actions">
        <button type="button" class="danger" ref={confirm} disabled={busy} onClick={onConfirm}>
          {action === "revoke" ? "Yes, revoke" : "Yes, rotate"}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </p>
    </fieldset>
  );
}

export function KeyTable({
  keys,
  pending,
  busy,
  onAsk,
  onConfirm,
  onCancel,
}: {
  keys: ApiKeyView[];
  pending: PendingAction | undefined;
  busy: boolean;
  onAsk: (pending: PendingAction) => void;
  onConfirm: (pending: PendingAction) => void;
  onCancel: () => void;
}) {
  const now = Date.now();
  return (
    <div class="table-wrap">
      <table class="keys-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Id and prefix</th>
            <th scope="col">Scopes</th>
            <th scope="col">Limits</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((apiKey) => {
            const usable = apiKey.revoked_at === undefined;
            const asking = pending?.id === apiKey.id ? pending : undefined;
            return (
              <tr key={apiKey.id} data-key-id={apiKey.id}>
                <th scope="row">{apiKey.name}</th>
                <td>
                  <code>{apiKey.id}</code>
                  <br />
                  <code class="muted">{apiKey.prefix}…</code>
                  {apiKey.rotated_from ? <div class="muted">replaces {apiKey.rotated_from}</div> : null}
                </td>
                <td>{apiKey.scopes.join(", ")}</td>
                <td>
                  {apiKey.rpm === undefined ? "no rpm limit" : `${apiKey.rpm} rpm`}
                  <br />
                  {apiKey.max_tier === undefined ? "no tier cap" : `tier ≤ ${apiKey.max_tier}`}
                  {apiKey.expires_at === undefined ? null : (
                    <div>
                      expires <Timestamp iso={apiKey.expires_at} />
                    </div>
                  )}
                </td>
                <td>
                  <Timestamp iso={apiKey.created_at} />
                  <div class="muted">by {apiKey.created_by}</div>
                </td>
                <td>
                  <KeyStatus apiKey={apiKey} now={now} />
                </td>
                <td>
                  {asking ? (
                    <Confirm
                      apiKey={apiKey}
                      action={asking.action}
                      busy={busy}
                      onConfirm={() => onConfirm(asking)}
                      onCancel={onCancel}
                    />
                  ) : usable ? (
                    <span class="row">
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Rotate ${apiKey.name}`}
                        disabled={busy}
                        onClick={() => onAsk({ id: apiKey.id, action: "rotate" })}
                      >
                        Rotate
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Revoke ${apiKey.name}`}
                        disabled={busy}
                        onClick={() => onAsk({ id: apiKey.id, action: "revoke" })}
                      >
                        Revoke
                      </button>
                    </span>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
