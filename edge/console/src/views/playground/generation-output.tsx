/**
 * A run as it happens: where the edge sent it and why, each refinement loop as a card once the
 * worker has judged it (text, judge score and feedback, halt probability), the loop being
 * generated as its tokens arrive, and the final metrics.
 */
import type { GenerateResponse, RefinementLoop } from "@modelgate/shared";
import type { RouteInfo } from "../../api/client.js";
import { ErrorNotice } from "../../components/status.js";
import type { GenerationRun } from "./use-generation.js";

function probability(value: number | null): string {
  return value === null ? "—" : value.toFixed(3);
}

function RouteFacts({ route }: { route: RouteInfo }) {
  return (
    <section class="card playground-route" aria-labelledby="playground-route">
      <h2 id="playground-route">Route</h2>
      <dl class="ops-facts">
        <div>
          <dt>Model</dt>
          <dd>
            <code>{route.model ?? "—"}</code>
          </dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd>
            <code>{route.worker ?? "—"}</code>
          </dd>
        </div>
        <div>
          <dt>Request id</dt>
          <dd>
            <code>{route.requestId ?? "—"}</code>
          </dd>
        </div>
      </dl>
      <p class="playground-reason">
        <span class="muted">Route reason </span>
        <code>{route.reason ?? "—"}</code>
      </p>
    </section>
  );
}

function LoopCard({ loop }: { loop: RefinementLoop }) {
  const judged = loop.judge_score !== null;
  return (
    <li>
      <section class="card playground-loop done" aria-label={`Loop ${loop.loop}`}>
        <h3>Loop {loop.loop}</h3>
        <p class="row">
          {judged ? (
            <span class={`badge ${loop.judge_feedback ? "warn" : "ok"}`}>
              judge score {probability(loop.judge_score)}
            </span>
          ) : (
            <span class="badge">no judge</span>
          )}
          <span class="badge">halt probability {probability(loop.halt_probability)}</span>
          <span class="badge">finish: {loop.finish_reason}</span>
          <span class="muted">
            {loop.tokens} tokens from {loop.prompt_tokens} prompt tokens
          </span>
        </p>
        <pre class="playground-text">{loop.text}</pre>
        {loop.judge_feedback ? (
          <p class="playground-feedback">
            <span class="muted">Judge feedback: </span>
            {loop.judge_feedback}
          </p>
        ) : null}
      </section>
    </li>
  );
}

function Metric({ name, value }: { name: string; value: string | number }) {
  return (
    <div>
      <dt>{name}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function ResultSummary({ result, run }: { result: GenerateResponse; run: GenerationRun }) {
  return (
    <section class="card playground-result" aria-labelledby="playground-result">
      <h2 id="playground-result">Result</h2>
      <dl class="ops-facts">
        <Metric name="Stop reason" value={result.stop_reason} />
        <Metric name="Refinement loops" value={result.refinement_loops} />
        <Metric name="Halt probability" value={probability(result.halt_probability)} />
        <Metric name="Tokens/s" value={result.tokens_per_second.toFixed(1)} />
        <Metric name="Tokens" value={`${result.tokens_generated} (prompt ${result.prompt_tokens})`} />
        <Metric name="Finish reason" value={result.finish_reason} />
        <Metric name="Inference" value={`${result.inference_time_ms.toFixed(0)} ms`} />
        {run.firstTokenMs === undefined ? null : (
          <Metric name="First token (here)" value={`${run.firstTokenMs.toFixed(0)} ms`} />
        )}
        <Metric name="Latent spans" value={result.latent_spans_used} />
        <Metric name="CES tokens" value={result.ces_tokens_total} />
        <Metric name="Seed" value={result.seed} />
        <Metric
          name="Tier"
          value={`${result.runtime_config.caws_tier}, ≤ ${result.runtime_config.max_refinement_loops} loops`}
        />
      </dl>
      <h3>Answer</h3>
      <pre class="playground-text playground-answer">{result.text}</pre>
    </section>
  );
}

const PHASE_TEXT: Record<GenerationRun["phase"], string> = {
  idle: "",
  starting: "Sending…",
  streaming: "Streaming…",
  done: "Done.",
  failed: "Failed.",
  stopped: "Stopped.",
};

export function GenerationOutput({ run }: { run: GenerationRun }) {
  if (run.phase === "idle") return null;
  const status = run.phase === "streaming" && run.live ? `Streaming loop ${run.live.loop}…` : PHASE_TEXT[run.phase];
  return (
    <div class="playground-output">
      <p role="status" class="muted playground-phase">
        {status}
        {run.phase === "done" && run.result
          ? ` ${run.result.refinement_loops} loop${run.result.refinement_loops === 1 ? "" : "s"}, stop reason ${run.result.stop_reason}.`
          : ""}
      </p>
      {run.route ? <RouteFacts route={run.route} /> : null}
      {run.loops.length > 0 || run.live ? (
        <ol class="playground-loops" aria-label="Refinement loops">
          {run.loops.map((loop) => (
            <LoopCard key={loop.loop} loop={loop} />
          ))}
          {run.live ? (
            <li>
              <section
                class={`card playground-loop ${run.phase === "streaming" ? "live" : "cut"}`}
                aria-label={`Loop ${run.live.loop} (${run.phase === "streaming" ? "generating" : "stopped"})`}
                aria-busy={run.phase === "streaming"}
              >
                <h3>
                  Loop {run.live.loop}{" "}
                  <span class="muted">
                    {run.phase === "streaming" ? "generating…" : "stopped before it was judged"}
                  </span>
                </h3>
                <pre class="playground-text playground-stream">{run.live.text}</pre>
              </section>
            </li>
          ) : null}
        </ol>
      ) : null}
      {run.phase === "failed" ? <ErrorNotice error={run.error} /> : null}
      {run.result ? <ResultSummary result={run.result} run={run} /> : null}
    </div>
  );
}
