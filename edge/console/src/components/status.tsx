/** Loading and error states that say what is happening, naming the problem the API gave. */
import type { ComponentChildren } from "preact";
import { ApiError } from "../api/client.js";

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** An error as a user can act on it: the problem's `detail`, and each field it names. */
export function ErrorNotice({ error, action }: { error: unknown; action?: ComponentChildren }) {
  const problem = error instanceof ApiError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div class="notice error" role="alert">
      <p>
        {problem?.status ? <strong>{problem.problem?.title ?? `Error ${problem.status}`}: </strong> : null}
        {message}
      </p>
      {problem && problem.fieldErrors.length > 0 ? (
        <ul>
          {problem.fieldErrors.map((field) => (
            <li key={field.field}>
              <code>{field.field}</code> {field.message}
            </li>
          ))}
        </ul>
      ) : null}
      {action}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
