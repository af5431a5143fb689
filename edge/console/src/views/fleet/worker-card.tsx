/**
 * One worker as an operator reads it: is it live and admitted (heartbeat age, circuit), how busy
 * (queue, in flight, tokens/s), each GPU's last minute, and which models it holds.
 */
import type { GpuSnapshot, WorkerListEntry } from "@modelgate/shared";
import { Sparkline } from "../../components/sparkline.js";
import { Empty } from "../../components/status.js";
import { formatAge, Timestamp } from "../../components/time.js";
import type { GpuHistory, WorkerHistory } from "./fleet-history.js";

const CIRCUIT_BADGE = { closed: "ok", "half-open": "warn", open: "bad" } as const;
const CIRCUIT_TEXT = {
  closed: "circuit closed",
  "half-open": "circuit half-open (probing)",
  open: "circuit open (out of routing)",
} as const;

function number(value: number | null | undefined, digits = 0, unit = ""): string {
  return value === null || value === undefined ? "—" : `${value.toFixed(digits)}${unit}`;
}

function GpuPanel({ gpu, history }: { gpu: GpuSnapshot; history: GpuHistory | undefined }) {
  const title = `GPU ${gpu.index}`;
  return (
    <section class="fleet-gpu" aria-label={`${title}: ${gpu.name}`}>
      <h3>
        {title} <span class="muted">{gpu.name}</span>{" "}
        {gpu.device === "cpu" ? <span class="badge">CPU stand-in</span> : <span class="badge">CUDA</span>}
      </h3>
      <p class="muted fleet-gpu-now">
        {number(gpu.utilization_gpu_pct, 0, "%")} busy · {number(gpu.memory_used_mb)} / {number(gpu.memory_total_mb)} MB
        · {number(gpu.temperature_c, 0, " °C")} · {number(gpu.power_draw_w, 0, " W")}
        {gpu.power_limit_w === null ? "" : ` of ${gpu.power_limit_w.toFixed(0)} W`}
      </p>
      <div class="row fleet-charts">
        <Sparkline label="Utilization" values={history?.utilization ?? []} min={0} max={100} unit="%" />
        <Sparkline
          label="Memory used"
          values={history?.memoryUsedMb ?? []}
          min={0}
          max={gpu.memory_total_mb ?? undefined}
          unit=" MB"
        />
        <Sparkline label="Temperature" values={history?.temperature ?? []} min={0} max={100} unit=" °C" />
        {gpu.power_draw_w === null && (history?.power.length ?? 0) === 0 ? null : (
          <Sparkline
            label="Power"
            values={history?.power ?? []}
            min={0}
            max={gpu.power_limit_w ?? undefined}
            unit=" W"
          />
        )}
      </div>
    </section>
  );
}

export function WorkerCard({ entry, history }: { entry: WorkerListEntry; history: WorkerHistory | undefined }) {
  const { heartbeat } = entry;
  const circuit = entry.circuit ?? "closed";
  const headingId = `worker-${heartbeat.worker_id}`;
  // Within one interval the heartbeat counts fully; after that routing penalises it until it is
  // out (`live: false`, older than three intervals).
  const late = entry.live && entry.age_ms > heartbeat.interval_ms * 1.5;
  return (
    <section class="card fleet-worker" aria-labelledby={headingId}>
      <h2 id={headingId}>{heartbeat.worker_id}</h2>
      <p class="row">
        {entry.live ? (
          <span class={`badge ${late ? "warn" : "ok"}`}>{late ? "live, heartbeat late" : "live"}</span>
        ) : (
          <span class="badge bad">stale: out of routing</span>
        )}
        <span class={`badge ${CIRCUIT_BADGE[circuit]}`}>{CIRCUIT_TEXT[circuit]}</span>
        {heartbeat.version ? <span class="badge">v{heartbeat.version}</span> : null}
      </p>
      <p class="muted fleet-heartbeat">
        Heartbeat {formatAge(entry.age_ms)} (<Timestamp iso={entry.received_at} />
        ), every {(heartbeat.interval_ms / 1000).toFixed(0)} s · <code>{heartbeat.url}</code>
      </p>
      <dl class="ops-facts">
        <div>
          <dt>Queue</dt>
          <dd>{heartbeat.queue_depth}</dd>
        </div>
        <div>
          <dt>In flight</dt>
          <dd>{heartbeat.in_flight}</dd>
        </div>
        <div>
          <dt>Tokens/s</dt>
          <dd>{heartbeat.tokens_per_second.toFixed(1)}</dd>
        </div>
      </dl>
      <div class="row fleet-charts">
        <Sparkline label="Queue depth" values={history?.queue ?? []} min={0} />
        <Sparkline label="Tokens/s" values={history?.tokensPerSecond ?? []} min={0} />
      </div>
      {heartbeat.gpus.map((gpu) => (
        <GpuPanel key={gpu.index} gpu={gpu} history={history?.gpus[gpu.index]} />
      ))}
      <h3>Loaded models</h3>
      {heartbeat.loaded_models.length === 0 ? (
        <Empty>No models loaded yet: the first request for a model loads it.</Empty>
      ) : (
        <ul class="fleet-models">
          {heartbeat.loaded_models.map((model) => (
            <li key={`${model.name}@${model.version}:${model.gpu_index}`}>
              <code>
                {model.name}@{model.version}
              </code>{" "}
              <span class="muted">
                on GPU {model.gpu_index}, {model.memory_mb.toFixed(0)} MB, sha256 {model.sha256.slice(0, 12)}…
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
