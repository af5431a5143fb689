/**
 * Generate with any target (`ref-decoder`, `auto:code`, `name@3:int8`) and watch it stream:
 * tokens as they appear, each refinement loop once it is judged, the route the edge chose and
 * why, and the final metrics. Stop aborts the stream.
 */
import { useState } from "preact/hooks";
import { useSession } from "../api/session.js";
import { GenerateFormFields } from "./playground/generate-form-fields.js";
import { buildGenerateRequest, EMPTY_FORM, type GenerateForm } from "./playground/generate-request.js";
import { GenerationOutput } from "./playground/generation-output.js";
import { useModelOptions } from "./playground/model-options.js";
import { useGeneration } from "./playground/use-generation.js";

export function PlaygroundView() {
  const { api } = useSession();
  const options = useModelOptions();
  const { run, start, stop } = useGeneration(api);
  const [form, setForm] = useState<GenerateForm>(EMPTY_FORM);
  const [localProblem, setLocalProblem] = useState<{ field: string; message: string } | undefined>();
  const running = run.phase === "starting" || run.phase === "streaming";

  const submit = (event: Event) => {
    event.preventDefault();
    const built = buildGenerateRequest(form);
    if (!built.ok) {
      setLocalProblem(built);
      return;
    }
    setLocalProblem(undefined);
    void start(built.body);
  };

  return (
    <>
      <h1>Playground</h1>
      <form class="card playground-form" onSubmit={submit} aria-label="Generation request">
        <GenerateFormFields
          form={form}
          options={options}
          localProblem={localProblem}
          change={(patch) => setForm((current) => ({ ...current, ...patch }))}
        />
        <div class="row playground-wide">
          <button type="submit" disabled={running}>
            {running ? "Generating…" : "Generate"}
          </button>
          <button type="button" class="danger" onClick={stop} disabled={!running}>
            Stop
          </button>
        </div>
      </form>
      <GenerationOutput run={run} />
    </>
  );
}
