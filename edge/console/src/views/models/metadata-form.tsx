/**
 * Edit a version's descriptive metadata (`PATCH …/versions/:n`): tags, notes and description.
 * Only the fields that changed are sent (an emptied one as `null`, which clears it), so each
 * save is one metadata revision saying exactly what moved. The artifact and provenance are
 * immutable and not offered.
 */
import type { ModelVersion } from "@modelgate/shared";
import { useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { ActionResult, useAction } from "./action-state.js";
import { splitList } from "./format.js";

export function MetadataForm({ version, onChanged }: { version: ModelVersion; onChanged: () => void }) {
  const { api } = useSession();
  const action = useAction();
  const [tags, setTags] = useState(version.tags.join(", "));
  const [notes, setNotes] = useState(version.notes ?? "");
  const [description, setDescription] = useState(version.description ?? "");
  const [reason, setReason] = useState("");

  const changes = (): Record<string, unknown> => {
    const patch: Record<string, unknown> = {};
    const nextTags = splitList(tags);
    if (nextTags.join(",") !== version.tags.join(",")) patch.tags = nextTags;
    if (notes.trim() !== (version.notes ?? "")) patch.notes = notes.trim() === "" ? null : notes.trim();
    if (description.trim() !== (version.description ?? "")) {
      patch.description = description.trim() === "" ? null : description.trim();
    }
    return patch;
  };

  const submit = (event: Event) => {
    event.preventDefault();
    const patch = changes();
    void action.run(async () => {
      if (Object.keys(patch).length === 0) return "Nothing changed: no new revision was written.";
      const saved = await api.request<ModelVersion>(
        "PATCH",
        `/v1/models/${encodeURIComponent(version.name)}/versions/${version.version}`,
        { body: { ...patch, ...(reason.trim() ? { reason: reason.trim() } : {}) } },
      );
      setReason("");
      onChanged();
      return `Saved as metadata revision ${saved.metadata_revision} (${Object.keys(patch).join(", ")}).`;
    });
  };

  return (
    <form onSubmit={submit} aria-label="Edit metadata" class="models-stack">
      <label>
        Tags (comma or space separated)
        <input
          name="tags"
          value={tags}
          autocomplete="off"
          spellcheck={false}
          onInput={(event) => setTags(event.currentTarget.value)}
        />
      </label>
      <label>
        Notes
        <textarea name="notes" value={notes} onInput={(event) => setNotes(event.currentTarget.value)} />
      </label>
      <label>
        Description
        <textarea
          name="description"
          value={description}
          onInput={(event) => setDescription(event.currentTarget.value)}
        />
      </label>
      <label>
        Reason (kept in the history)
        <input name="metadata-reason" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </label>
      <button type="submit" disabled={action.busy}>
        {action.busy ? "Saving…" : "Save metadata"}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
