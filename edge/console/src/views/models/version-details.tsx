/**
 * Seed 003's description of a version: what it is, how it was trained (dataset, metrics, LoRA,
 * hyperparameters, hardware), where copies live and which backends serve it, and its I/O
 * contract. Sections the version has no data for are left out rather than shown empty.
 */
import type { ModelVersion, TensorSpec } from "@modelgate/shared";
import type { ComponentChildren } from "preact";
import { Timestamp } from "../../components/time.js";
import { formatBytes, formatNumber } from "./format.js";

/** `wide` facts (long text) take a whole row of the grid. */
type Fact = [label: string, value: ComponentChildren | undefined, wide?: "wide"];

/** A definition list of the facts that have a value. */
export function Facts({ facts, label }: { facts: Fact[]; label?: string }) {
  const present = facts.filter(([, value]) => value !== undefined && value !== null && value !== "");
  if (present.length === 0) return null;
  return (
    <dl class="models-facts" aria-label={label}>
      {present.map(([name, value, wide]) => (
        <div key={name} class={wide ? "models-fact models-wide" : "models-fact"}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A two-column table of named numbers (metrics, benchmark scores, dataset quality). */
export function NumberTable({
  caption,
  values,
}: {
  caption: string;
  values: Record<string, number | string | boolean>;
}) {
  const entries = Object.entries(values);
  if (entries.length === 0) return null;
  return (
    <div class="table-wrap">
      <table class="models-table">
        <caption>{caption}</caption>
        <tbody>
          {entries.map(([name, value]) => (
            <tr key={name}>
              <th scope="row">
                <code>{name}</code>
              </th>
              <td class="models-number">{typeof value === "number" ? formatNumber(value) : String(value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const list = (values: readonly string[] | undefined) => (values && values.length > 0 ? values.join(", ") : undefined);

export function VersionOverview({ version }: { version: ModelVersion }) {
  return (
    <Facts
      label="Version facts"
      facts={[
        ["Display name", version.display_name, "wide"],
        ["Description", version.description, "wide"],
        ["Notes", version.notes ? <span class="models-pre-line">{version.notes}</span> : undefined, "wide"],
        ["Kind", version.kind],
        ["Role", version.role],
        ["Group", version.group],
        ["Base model", version.base_model],
        ["Tags", list(version.tags)],
        ["Categories", list(version.categories)],
        ["Primary category", version.primary_category],
        ["Registered", <Timestamp key="created" iso={version.created_at} />],
        ["Registered by", <code key="by">{version.created_by}</code>],
        ["Last change", <Timestamp key="updated" iso={version.updated_at} />],
        ["Metadata revision", String(version.metadata_revision)],
      ]}
    />
  );
}

export function TrainingDetails({ version }: { version: ModelVersion }) {
  const { dataset, lora_config: lora } = version;
  const metrics: Record<string, number> = { ...version.metrics };
  if (version.perplexity !== undefined) metrics.perplexity = version.perplexity;
  return (
    <>
      <Facts
        label="Training"
        facts={[
          ["Training date", version.training_date],
          [
            "Training time",
            version.training_duration_minutes === undefined
              ? undefined
              : `${formatNumber(version.training_duration_minutes)} min`,
          ],
          ["Hardware", version.hardware],
          ["Device", version.device],
          ["Git commit", version.git_commit ? <code key="git">{version.git_commit}</code> : undefined],
        ]}
      />
      <div class="grid models-tables">
        <NumberTable caption="Metrics at registration" values={metrics} />
        <NumberTable caption="Benchmark scores (0–100, used for routing)" values={version.benchmark_scores} />
        {version.hyperparameters ? <NumberTable caption="Hyperparameters" values={version.hyperparameters} /> : null}
      </div>
      {dataset ? (
        <>
          <h3>Dataset</h3>
          <Facts
            label="Dataset"
            facts={[
              ["Name", dataset.name],
              ["Path", dataset.path ? <code key="path">{dataset.path}</code> : undefined],
              ["Training samples", dataset.train_samples?.toLocaleString()],
              ["Validation samples", dataset.val_samples?.toLocaleString()],
              ["Test samples", dataset.test_samples?.toLocaleString()],
            ]}
          />
          {dataset.quality ? <NumberTable caption="Dataset quality" values={dataset.quality} /> : null}
        </>
      ) : null}
      {lora ? (
        <>
          <h3>LoRA adapter</h3>
          <Facts
            label="LoRA adapter"
            facts={[
              ["Rank (r)", String(lora.r)],
              ["Alpha", formatNumber(lora.lora_alpha)],
              ["Dropout", formatNumber(lora.lora_dropout)],
              ["Target modules", list(lora.target_modules)],
              ["Bias", lora.bias],
              ["Task type", lora.task_type],
            ]}
          />
        </>
      ) : null}
    </>
  );
}

export function Deployment({ version }: { version: ModelVersion }) {
  const locations = Object.entries(version.locations);
  return (
    <>
      <Facts
        label="Deployment"
        facts={[
          ["Deployed backends", list(version.deployed_backends) ?? "none recorded"],
          ["Formats", list(version.formats)],
          ["Served format", version.serving_format ?? "fp32 (the registered original)"],
          ["Memory when loaded", `${version.memory_mb} MB`],
          ["Context", version.max_context_tokens ? `${version.max_context_tokens.toLocaleString()} tokens` : undefined],
          ["Tokenizer", version.tokenizer?.type],
          ["Artifact", `${formatBytes(version.artifact.bytes)} ${version.artifact.format}`],
          [
            "sha256",
            <code key="sha" class="models-hash">
              {version.artifact.sha256}
            </code>,
          ],
          [
            "URI",
            <code key="uri" class="models-hash">
              {version.artifact.uri}
            </code>,
          ],
        ]}
      />
      {locations.length > 0 ? (
        <div class="table-wrap">
          <table class="models-table">
            <caption>Locations</caption>
            <thead>
              <tr>
                <th scope="col">Location</th>
                <th scope="col">Path</th>
              </tr>
            </thead>
            <tbody>
              {locations.map(([name, where]) => (
                <tr key={name}>
                  <th scope="row">
                    {name}
                    {version.primary_location === name ? <span class="badge ok">primary</span> : null}
                  </th>
                  <td>
                    <code class="models-hash">{where}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function shapeText(spec: TensorSpec): string {
  return `[${spec.shape.join(", ")}]`;
}

export function TensorTable({
  caption,
  inputs,
  outputs,
}: {
  caption: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}) {
  const rows = [...inputs.map((spec) => ["input", spec] as const), ...outputs.map((spec) => ["output", spec] as const)];
  return (
    <div class="table-wrap">
      <table class="models-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Tensor</th>
            <th scope="col">Direction</th>
            <th scope="col">Type</th>
            <th scope="col">Shape</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([direction, spec]) => (
            <tr key={`${direction}:${spec.name}`}>
              <th scope="row">
                <code>{spec.name}</code>
              </th>
              <td>{direction}</td>
              <td>{spec.dtype}</td>
              <td>
                <code>{shapeText(spec)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
