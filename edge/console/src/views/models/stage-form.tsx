/**
 * Move a version to a stage (`POST …/stage`), optionally making a converted format the one served
 * by default, with a reason the history keeps. Formats whose must-pass gates failed are offered
 * too, marked: the edge refuses them (422 gate_failed, naming the gates) unless forced with a
 * reason, and that refusal is what the person needs to see.
 */
import type { ModelVersion, Stage, StageChangeResponse } from "@modelgate/shared";
import { useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { ActionResult, useAction } from "./action-state.js";
import { STAGES, TARGETS, versionLabel } from "./format.js";

export function StageForm({ version, onChanged }: { version: ModelVersion; onChanged: () => void }) {
  const { api } = useSession();
  const action = useAction();
  const [stage, setStage] = useState<Stage>("Production");
  const [format, setFormat] = useState("");
  const [reason, setReason] = useState("");
  const [force, setForce] = useState(false);
  const [archiveExisting, setArchiveExisting] = useState(true);
  const formats = TARGETS.flatMap((target) => {
    const converted = version.converted_formats?.[target];
    return converted ? [converted] : [];
  });

  const submit = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      const answer = await api.request<StageChangeResponse>(
        "POST",
        `/v1/models/${encodeURIComponent(version.name)}/versions/${version.version}/stage`,
        {
          body: {
            stage,
            ...(reason.trim() ? { reason: reason.trim() } : {}),
            ...(format ? { format } : {}),
            ...(force ? { force: true } : {}),
            ...(stage === "Production" && !archiveExisting ? { archive_existing: false } : {}),
          },
        },
      );
      setReason("");
      setForce(false);
      onChanged();
      const moved = answer.version;
      return `${versionLabel(moved.name, moved.version)} is in ${moved.stage}${
        moved.serving_format ? `, serving ${moved.serving_format}` : ""
      }.`;
    });
  };

  return (
    <form onSubmit={submit} aria-label="Change stage" class="models-stack">
      <label>
        Stage
        <select name="stage" value={stage} onChange={(event) => setStage(event.currentTarget.value as Stage)}>
          {STAGES.map((name) => (
            <option key={name} value={name}>
              {name}
              {name === version.stage ? " (current)" : ""}
            </option>
          ))}
        </select>
      </label>
      <label>
        Served format
        <select name="format" value={format} onChange={(event) => setFormat(event.currentTarget.value)}>
          <option value="">Keep {version.serving_format ?? "fp32 (the original)"}</option>
          {formats.map((converted) => (
            <option key={converted.target} value={converted.target}>
              {converted.target}
              {converted.gates_ok ? "" : ` (gates failed: ${converted.must_pass_failed.join(", ")})`}
            </option>
          ))}
        </select>
      </label>
      <label>
        Reason (kept in the history)
        <input name="stage-reason" value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </label>
      {stage === "Production" && version.stage !== "Production" ? (
        <label class="models-check">
          <input
            type="checkbox"
            name="archive-existing"
            checked={archiveExisting}
            onChange={(event) => setArchiveExisting(event.currentTarget.checked)}
          />
          Archive the version now in Production
        </label>
      ) : null}
      <label class="models-check">
        <input
          type="checkbox"
          name="force"
          checked={force}
          onChange={(event) => setForce(event.currentTarget.checked)}
        />
        Override failed must-pass gates (needs a reason)
      </label>
      <button type="submit" disabled={action.busy}>
        {action.busy ? "Changing…" : "Change stage"}
      </button>
      <ActionResult action={action} />
    </form>
  );
}
