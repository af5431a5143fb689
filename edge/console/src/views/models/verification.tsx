/**
 * What verification found (seed 001): the original's contract, shape runs and version-level
 * gates, and each converted format with its metrics against fp32 and its must/should/nice
 * gates. A format whose must-pass gates failed stays listed, marked, because it is neither
 * served nor promotable.
 */
import type { GateResult, ShapeValidation, VersionVerificationView } from "@modelgate/shared";
import { Empty } from "../../components/status.js";
import { Timestamp } from "../../components/time.js";
import { formatBytes, formatNumber, formatPercent, TARGETS } from "./format.js";
import { Facts } from "./version-details.js";

type VerifiedFormat = NonNullable<VersionVerificationView["formats"]["int8"]>;

const LEVEL_NAMES = { must_pass: "must pass", should_pass: "should pass", nice_to_have: "nice to have" } as const;

export function GateVerdict({ ok, failed }: { ok: boolean; failed: readonly string[] }) {
  return ok ? (
    <span class="badge ok">gates passed</span>
  ) : (
    <span class="badge bad">must-pass gates failed: {failed.join(", ") || "(unnamed)"}</span>
  );
}

export function GateTable({ caption, gates }: { caption: string; gates: readonly GateResult[] }) {
  if (gates.length === 0) return null;
  return (
    <div class="table-wrap">
      <table class="models-table models-gates">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Gate</th>
            <th scope="col">Level</th>
            <th scope="col">Result</th>
            <th scope="col">Measured</th>
            <th scope="col">Needs</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {gates.map((gate) => (
            <tr key={gate.name} data-gate={gate.name}>
              <th scope="row">
                <code>{gate.name}</code>
              </th>
              <td>{LEVEL_NAMES[gate.level]}</td>
              <td>
                <span class={`badge ${gate.passed ? "ok" : gate.level === "must_pass" ? "bad" : "warn"}`}>
                  {gate.passed ? "passed" : "failed"}
                </span>
              </td>
              <td class="models-number">{gate.value === undefined ? "—" : formatNumber(gate.value)}</td>
              <td class="models-number">
                {gate.threshold === undefined ? "—" : `${gate.comparison ?? ""} ${formatNumber(gate.threshold)}`}
              </td>
              <td>{gate.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Seed 001's shape enumeration: how each sequence length (or batch size) ran. */
export function ShapeTable({
  caption,
  shapes,
  primary,
}: {
  caption: string;
  shapes: Record<string, ShapeValidation>;
  primary?: string;
}) {
  const entries = Object.entries(shapes).sort(([, a], [, b]) => a.sequence_length - b.sequence_length);
  if (entries.length === 0) return null;
  return (
    <div class="table-wrap">
      <table class="models-table models-shapes">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Shape</th>
            <th scope="col">Result</th>
            <th scope="col">Latency</th>
            <th scope="col">Memory added</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {entries.map(([key, shape]) => (
            <tr key={key}>
              <th scope="row">
                {key}
                {key === primary ? <span class="badge">primary</span> : null}
              </th>
              <td>
                <span class={`badge ${shape.status === "ok" ? "ok" : "bad"}`}>{shape.status}</span>
              </td>
              <td class="models-number">
                {shape.latency_ms === undefined ? "—" : `${formatNumber(shape.latency_ms)} ms`}
              </td>
              <td class="models-number">
                {shape.memory_mb === undefined ? "—" : `${formatNumber(shape.memory_mb)} MB`}
              </td>
              <td>{shape.error ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function SourceVerification({ view }: { view: VersionVerificationView }) {
  const { source } = view;
  if (source === null) {
    return (
      <Empty>This version has not been verified yet: request a conversion to run its contract and shape checks.</Empty>
    );
  }
  const { summary, report, contract } = source;
  const arch = contract?.model_arch ?? {};
  return (
    <section aria-labelledby="source-verification">
      <h3 id="source-verification">The registered original (fp32)</h3>
      <p class="row">
        <GateVerdict ok={summary.gates_ok} failed={summary.must_pass_failed} />
        {summary.should_pass_ok ? null : <span class="badge warn">should-pass gates failed</span>}
        <span class="muted">
          verified <Timestamp iso={summary.verified_at} /> by job <code>{summary.job_id}</code>
        </span>
      </p>
      <Facts
        label="Contract"
        facts={[
          ["Primary shape", summary.primary_shape],
          ["Opset", contract ? `${contract.opset} (IR ${contract.ir_version})` : undefined],
          ["Producer", contract?.producer],
          ...Object.entries(arch).map(([name, value]): [string, string] => [name, String(value)]),
        ]}
      />
      {report ? <GateTable caption="Version gates" gates={report.gates} /> : null}
      {contract || report ? (
        <ShapeTable
          caption="Shape validation (fp32)"
          shapes={contract?.shape_validation ?? report?.shape_validation ?? {}}
          primary={summary.primary_shape}
        />
      ) : null}
    </section>
  );
}

export function ConvertedFormats({ view }: { view: VersionVerificationView }) {
  const present = TARGETS.flatMap((target) => {
    const format = view.formats[target];
    return format ? [format] : [];
  });
  if (present.length === 0) return <Empty>No converted formats yet.</Empty>;
  return (
    <>
      {present.map((format) => (
        <FormatSection
          key={format.summary.target}
          format={format}
          serving={view.serving_format === format.summary.target}
        />
      ))}
    </>
  );
}

function FormatSection({ format, serving }: { format: VerifiedFormat; serving: boolean }) {
  const { summary, report } = format;
  const { metrics } = summary;
  const id = `format-${summary.target}`;
  return (
    <section class="card models-format" aria-labelledby={id}>
      <h3 id={id}>{summary.target} format</h3>
      <p class="row">
        <GateVerdict ok={summary.gates_ok} failed={summary.must_pass_failed} />
        {serving ? <span class="badge ok">served by default</span> : null}
        <span class="muted">
          converted <Timestamp iso={summary.converted_at} />, {formatBytes(summary.artifact.bytes)}
        </span>
      </p>
      <Facts
        label={`${summary.target} metrics`}
        facts={[
          ["Top-1 agreement with fp32", formatPercent(metrics.top1_agreement)],
          ["Cosine similarity", formatNumber(metrics.cosine_similarity)],
          ["Largest output difference", formatNumber(metrics.max_abs_diff)],
          [
            "Largest halt probability difference",
            metrics.halt_probability_max_diff === undefined
              ? undefined
              : formatNumber(metrics.halt_probability_max_diff),
          ],
          ["Size vs fp32", formatPercent(metrics.size_ratio)],
          [
            "Latency (converted / fp32)",
            metrics.converted_latency_ms === undefined || metrics.original_latency_ms === undefined
              ? undefined
              : `${formatNumber(metrics.converted_latency_ms)} ms / ${formatNumber(metrics.original_latency_ms)} ms`,
          ],
          ["Compared", `${metrics.compared.toLocaleString()} vectors`],
          [
            "sha256",
            <code key="sha" class="models-hash">
              {summary.artifact.sha256}
            </code>,
          ],
        ]}
      />
      {report ? (
        <>
          <GateTable caption={`${summary.target} gates`} gates={report.gates} />
          <ShapeTable caption={`Shape validation (${summary.target})`} shapes={report.shape_validation} />
          <p class="muted models-small">
            Inputs: {report.inputs.description} (seed {report.inputs.seed}).
          </p>
        </>
      ) : (
        <p class="muted">The stored verification report could not be read back; the summary above is the registry's.</p>
      )}
    </section>
  );
}
