/**
 * `POST /v1/keys`: a name, the scopes, and optionally a per-minute limit, a tier cap and an
 * expiry. The edge checks every field and names the one at fault; the form only turns typed
 * text into the request.
 */
import type { CawsTier, CreateApiKeyRequest, Scope } from "@modelgate/shared";
import { useState } from "preact/hooks";

/** Every scope, with what it lets a key do (`satisfies` keeps the list complete). */
export const SCOPES = {
  "models:read": "read the registry",
  "models:write": "register, promote, convert",
  infer: "generate and predict",
  admin: "everything, including keys and the fleet",
  worker: "a GPU worker's heartbeats and jobs",
} satisfies Record<Scope, string>;

const TIERS = ["tier_1", "tier_2", "tier_3"] satisfies CawsTier[];

export function CreateKeyForm({ busy, onCreate }: { busy: boolean; onCreate: (request: CreateApiKeyRequest) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["infer"]);
  const [rpm, setRpm] = useState("");
  const [tier, setTier] = useState<CawsTier | "">("");
  const [expires, setExpires] = useState("");

  const submit = (event: Event) => {
    event.preventDefault();
    const limit = rpm.trim() === "" ? undefined : Number(rpm);
    onCreate({
      name: name.trim(),
      scopes,
      ...(limit === undefined || !Number.isFinite(limit) ? {} : { rpm: limit }),
      ...(tier ? { max_tier: tier } : {}),
      // datetime-local is the viewer's zone; the API wants an instant.
      ...(expires ? { expires_at: new Date(expires).toISOString() } : {}),
    });
  };
  const toggleScope = (scope: Scope, on: boolean) =>
    setScopes((current) => (on ? [...current, scope] : current.filter((s) => s !== scope)));

  return (
    <form class="card keys-create" onSubmit={submit} aria-labelledby="keys-create">
      <h2 id="keys-create">Create a key</h2>
      <label>
        Name
        <input value={name} onInput={(event) => setName(event.currentTarget.value)} required maxLength={100} />
      </label>
      <fieldset class="keys-scopes">
        <legend>Scopes</legend>
        {(Object.keys(SCOPES) as Scope[]).map((scope) => (
          <label key={scope} class="ops-switch">
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              onChange={(event) => toggleScope(scope, event.currentTarget.checked)}
            />
            <code>{scope}</code>
            <span class="muted">{SCOPES[scope]}</span>
          </label>
        ))}
      </fieldset>
      <label>
        Requests per minute
        <input
          type="number"
          min={1}
          step={1}
          value={rpm}
          placeholder="unlimited"
          onInput={(event) => setRpm(event.currentTarget.value)}
        />
      </label>
      <label>
        Max CAWS tier
        <select
          aria-label="Max CAWS tier"
          value={tier}
          onChange={(event) => setTier(event.currentTarget.value as CawsTier | "")}
        >
          <option value="">no cap</option>
          {TIERS.map((value) => (
            <option key={value} value={value}>
              {value}
            </option>
          ))}
        </select>
      </label>
      <label>
        Expires
        <input type="datetime-local" value={expires} onInput={(event) => setExpires(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy || scopes.length === 0}>
        {busy ? "Creating…" : "Create key"}
      </button>
    </form>
  );
}
