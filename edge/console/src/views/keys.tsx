/**
 * API keys: create one with its scopes and limits (the secret shown once), list them, rotate
 * (a new secret, the old one revoked at once) and revoke, each confirmed first.
 */
import type { ApiKeyView, CreateApiKeyRequest } from "@modelgate/shared";
import { useState } from "preact/hooks";
import { useSession } from "../api/session.js";
import { Empty, ErrorNotice, Loading } from "../components/status.js";
import { useApi } from "../components/use-api.js";
import { CreateKeyForm } from "./keys/create-key-form.js";
import { KeyTable, type PendingAction } from "./keys/key-table.js";
import { type NewSecret, SecretNotice } from "./keys/secret-notice.js";

type KeyWithSecret = ApiKeyView & { key: string };

/** Usable keys first, newest first within each group: revoked ones are history. */
function byStatus(a: ApiKeyView, b: ApiKeyView): number {
  const revoked = Number(a.revoked_at !== undefined) - Number(b.revoked_at !== undefined);
  return revoked !== 0 ? revoked : b.created_at.localeCompare(a.created_at);
}

export function KeysView() {
  const { api } = useSession();
  const [loaded, reload] = useApi((signal) => api.get<{ keys: ApiKeyView[] }>("/v1/keys", undefined, signal), [api]);
  const [secret, setSecret] = useState<NewSecret | undefined>();
  const [pending, setPending] = useState<PendingAction | undefined>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      reload();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const create = (request: CreateApiKeyRequest) =>
    act(async () => {
      const created = await api.request<KeyWithSecret>("POST", "/v1/keys", { body: request });
      setSecret({ id: created.id, name: created.name, key: created.key });
    });

  const confirm = ({ id, action }: PendingAction) =>
    act(async () => {
      if (action === "revoke") {
        await api.request<ApiKeyView>("DELETE", `/v1/keys/${encodeURIComponent(id)}`);
      } else {
        const rotated = await api.request<KeyWithSecret>("POST", `/v1/keys/${encodeURIComponent(id)}/rotate`);
        setSecret({ id: rotated.id, name: rotated.name, key: rotated.key, rotatedFrom: id });
      }
      setPending(undefined);
    });

  return (
    <>
      <h1>Keys</h1>
      {secret ? <SecretNotice secret={secret} onDismiss={() => setSecret(undefined)} /> : null}
      {error ? <ErrorNotice error={error} /> : null}
      <CreateKeyForm busy={busy} onCreate={(request) => void create(request)} />
      <h2>All keys</h2>
      {loaded.state === "loading" ? <Loading what="the keys" /> : null}
      {loaded.state === "failed" ? (
        <ErrorNotice
          error={loaded.error}
          action={
            <button type="button" class="secondary" onClick={reload}>
              Try again
            </button>
          }
        />
      ) : null}
      {loaded.state === "ready" ? (
        loaded.value.keys.length === 0 ? (
          <Empty>No keys yet besides the admin key. Create one above.</Empty>
        ) : (
          <KeyTable
            keys={[...loaded.value.keys].sort(byStatus)}
            pending={pending}
            busy={busy}
            onAsk={setPending}
            onConfirm={(action) => void confirm(action)}
            onCancel={() => setPending(undefined)}
          />
        )
      ) : null}
    </>
  );
}
