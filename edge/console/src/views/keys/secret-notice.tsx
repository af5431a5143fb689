/**
 * A new secret, shown once: the edge stores only its hash, so this notice (held in memory, gone
 * on reload or dismissal) is the only time anyone sees it.
 */
import { useEffect, useRef, useState } from "preact/hooks";

export interface NewSecret {
  id: string;
  name: string;
  key: string;
  /** Set when the secret replaces a rotated key. */
  rotatedFrom?: string;
}

export function SecretNotice({ secret, onDismiss }: { secret: NewSecret; onDismiss: () => void }) {
  const [copied, setCopied] = useState("");
  const box = useRef<HTMLDivElement>(null);
  // Land keyboard and screen-reader users on the secret, the one thing they must act on.
  useEffect(() => box.current?.focus(), [secret.key]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret.key);
      setCopied("Copied to the clipboard.");
    } catch {
      setCopied("The browser refused the clipboard: select the key and copy it.");
    }
  };
  return (
    <div class="notice ok keys-secret" role="alert" tabIndex={-1} ref={box} aria-labelledby="keys-secret-title">
      <p id="keys-secret-title">
        <strong>
          {secret.rotatedFrom ? `Key ${secret.rotatedFrom} rotated` : "Key created"}: {secret.name} ({secret.id})
        </strong>
      </p>
      <p>
        <code class="keys-secret-value">{secret.key}</code>
      </p>
      <p>
        Copy it now: <strong>it will not be shown again.</strong>
        {secret.rotatedFrom ? " The old key stopped working when this one was made." : ""}
      </p>
      <p class="row">
        <button type="button" class="secondary" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" class="link" onClick={onDismiss}>
          I have stored it
        </button>
        <span role="status" class="muted">
          {copied}
        </span>
      </p>
    </div>
  );
}
