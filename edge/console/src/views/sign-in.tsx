/** Sign-in with an API key: checked with the edge before anything else loads. */
import { useState } from "preact/hooks";
import { ErrorNotice } from "../components/status.js";

export function SignIn({ onSignIn, error }: { onSignIn: (key: string) => Promise<void>; error?: unknown }) {
  const [key, setKey] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (key.trim() === "") return;
    setBusy(true);
    await onSignIn(key.trim());
    setBusy(false);
  };
  return (
    <main id="main" class="sign-in">
      <h1>modelgate console</h1>
      <p>
        Sign in with an API key. It stays in this tab's session storage and is sent to this edge only; closing the tab
        signs you out. <code>npm start</code> writes the local admin key to <code>.modelgate/admin-key</code>.
      </p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(event) => setKey(event.currentTarget.value)}
          required
        />
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {error ? <ErrorNotice error={error} /> : null}
    </main>
  );
}
