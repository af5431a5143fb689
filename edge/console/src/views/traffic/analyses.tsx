/** Seed 002's three selection analyses, each as a chart with its numbers. */
import type { CategoryPerformance, ModelsPerCategory, MultiCategory } from "@modelgate/shared";
import { Empty } from "../../components/status.js";
import { BarChart, barWidth, categoryLabel, milliseconds, percent } from "./bars.js";

const NO_TRAFFIC = "No routed requests in this window.";

export function ModelsPerCategoryChart({ data }: { data: ModelsPerCategory }) {
  if (data.categories.length === 0) return <Empty>{NO_TRAFFIC}</Empty>;
  return (
    <>
      {data.categories.map((category) => (
        <div key={category.task_category ?? ""} class="traffic-group">
          <h3>
            {categoryLabel(category.task_category)}{" "}
            <span class="muted">
              {category.total} request{category.total === 1 ? "" : "s"}
            </span>
          </h3>
          <BarChart
            label={`Models chosen for ${categoryLabel(category.task_category)}`}
            max={1}
            data={category.models.map((model) => ({
              label: model.selected_model,
              value: model.share,
              text: `${model.usage_count} (${percent(model.share)})`,
            }))}
          />
        </div>
      ))}
    </>
  );
}

export function MultiCategoryChart({ data }: { data: MultiCategory }) {
  if (data.models.length === 0) {
    return <Empty>No model was chosen for more than one category (through auto: targets) in this window.</Empty>;
  }
  return (
    <>
      {data.models.map((model) => (
        <div key={model.selected_model} class="traffic-group">
          <h3>
            {model.selected_model}{" "}
            <span class="muted">
              {model.categories_served} categories · {model.requests} requests · {model.primary_requests} primary,{" "}
              {model.secondary_requests} secondary · confidence{" "}
              {model.avg_confidence === null ? "—" : model.avg_confidence.toFixed(2)}
            </span>
          </h3>
          <BarChart
            label={`Requests per category served by ${model.selected_model}`}
            data={model.categories.map((category) => ({
              label: `auto:${category.task_category}`,
              value: category.requests,
              text: `${category.requests} (${category.primary_requests} primary, confidence ${
                category.avg_confidence === null ? "—" : category.avg_confidence.toFixed(2)
              })`,
            }))}
          />
        </div>
      ))}
    </>
  );
}

export function CategoryPerformanceChart({ data }: { data: CategoryPerformance }) {
  if (data.categories.length === 0) return <Empty>{NO_TRAFFIC}</Empty>;
  // Latency bars share one scale (the slowest p95), so categories compare at a glance.
  const slowest = Math.max(0, ...data.categories.map((category) => category.latency_ms.p95 ?? 0));
  return (
    <div class="table-wrap">
      <table class="traffic-performance">
        <caption class="muted">
          Success rate is ok / (ok + upstream errors + no worker); latency percentiles are over the ok requests.
        </caption>
        <thead>
          <tr>
            <th scope="col">Category</th>
            <th scope="col">Requests</th>
            <th scope="col">Success rate</th>
            <th scope="col">Latency p50</th>
            <th scope="col">Latency p95</th>
            <th scope="col">Outcomes</th>
            <th scope="col">Avg score</th>
            <th scope="col">Avg selection</th>
          </tr>
        </thead>
        <tbody>
          {data.categories.map((category) => (
            <tr key={category.task_category ?? ""}>
              <th scope="row">{categoryLabel(category.task_category)}</th>
              <td>{category.requests}</td>
              <td>
                <Measure text={percent(category.success_rate)} width={barWidth(category.success_rate ?? 0, 1)} />
              </td>
              <td>
                <Measure
                  text={milliseconds(category.latency_ms.p50)}
                  width={barWidth(category.latency_ms.p50 ?? 0, slowest)}
                />
              </td>
              <td>
                <Measure
                  text={milliseconds(category.latency_ms.p95)}
                  width={barWidth(category.latency_ms.p95 ?? 0, slowest)}
                />
              </td>
              <td class="traffic-outcomes">
                {category.outcomes.ok} ok · {category.outcomes.client_error} client errors ·{" "}
                {category.outcomes.upstream_error} upstream errors · {category.outcomes.no_worker} no worker
              </td>
              <td>{category.avg_final_score === null ? "—" : category.avg_final_score.toFixed(3)}</td>
              <td>{milliseconds(category.avg_selection_duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Measure({ text, width }: { text: string; width: string }) {
  return (
    <span class="traffic-measure">
      <span>{text}</span>
      <span class="traffic-bar-track" aria-hidden="true">
        <span class="bar" style={{ width }} />
      </span>
    </span>
  );
}
