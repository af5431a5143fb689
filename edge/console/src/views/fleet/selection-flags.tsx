/**
 * Seed 002's rollback switches (`GET`/`PATCH /v1/admin/selection-flags`): each one turns a
 * routing enhancement off for the next request, without a redeploy. While a change is being
 * saved the switch shows the requested position (disabled); then the edge's answer, or the old
 * position with the error when the edge refused.
 */
import type { SelectionFlags } from "@modelgate/shared";
import { useState } from "preact/hooks";
import { useSession } from "../../api/session.js";
import { ErrorNotice, Loading } from "../../components/status.js";
import { useApi } from "../../components/use-api.js";

/** Every flag with what switching it off means (the schema's own words, shortened). */
const FLAGS: Record<keyof SelectionFlags, { label: string; off: string }> = {
  benchmark_scoring: {
    label: "Benchmark scoring",
    off: "Off: the Production version is preferred by stage instead of by weighted benchmark scores.",
  },
  multi_category: {
    label: "Multi-category routing",
    off: "Off: only versions whose primary category is the requested one are candidates.",
  },
  gpu_awareness: {
    label: "GPU awareness",
    off: "Off: live workers only, shortest queue first; GPU figures and heartbeat aging are ignored.",
  },
};

const FLAG_NAMES = Object.keys(FLAGS) as (keyof SelectionFlags)[];

export function SelectionFlagsPanel() {
  const { api, can } = useSession();
  const [loaded] = useApi((signal) => api.get<SelectionFlags>("/v1/admin/selection-flags", undefined, signal), [api]);
  const [flags, setFlags] = useState<SelectionFlags | undefined>();
  const [saving, setSaving] = useState<{ name: keyof SelectionFlags; on: boolean } | undefined>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState("");

  if (loaded.state === "loading") return <Loading what="the selection flags" />;
  if (loaded.state === "failed") return <ErrorNotice error={loaded.error} />;
  const current = flags ?? loaded.value;
  const writable = can("admin");

  const toggle = async (name: keyof SelectionFlags, on: boolean) => {
    setSaving({ name, on });
    setError(undefined);
    setSaved("");
    try {
      const next = await api.request<SelectionFlags>("PATCH", "/v1/admin/selection-flags", { body: { [name]: on } });
      setFlags(next);
      setSaved(`${FLAGS[name].label} is ${next[name] ? "on" : "off"} from the next request.`);
    } catch (failure) {
      setError(failure);
    } finally {
      setSaving(undefined);
    }
  };

  return (
    <fieldset class="card fleet-flags">
      <legend>Selection flags</legend>
      <p class="muted">Seed 002's rollback plan: each switch applies to the next routing decision.</p>
      <ul class="fleet-flag-list">
        {FLAG_NAMES.map((name) => (
          <li key={name}>
            <label class="ops-switch">
              <input
                type="checkbox"
                role="switch"
                checked={saving?.name === name ? saving.on : current[name]}
                aria-checked={saving?.name === name ? saving.on : current[name]}
                disabled={!writable || saving !== undefined}
                aria-describedby={`flag-${name}-help`}
                onChange={(event) => void toggle(name, event.currentTarget.checked)}
              />
              <span>{FLAGS[name].label}</span>
              <code class="muted">{name}</code>
            </label>
            <p id={`flag-${name}-help`} class="muted ops-help">
              {FLAGS[name].off}
            </p>
          </li>
        ))}
      </ul>
      <p role="status" class="muted">
        {saving ? `Saving ${FLAGS[saving.name].label}…` : saved}
      </p>
      {error ? <ErrorNotice error={error} /> : null}
    </fieldset>
  );
}
