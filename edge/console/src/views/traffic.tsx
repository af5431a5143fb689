/**
 * Seed 002's three analyses of routed traffic over a window the address names
 * (`#/traffic?window=1h`): which models each category used, models serving several
 * categories, and each category's success rate and latency.
 */
import type { CategoryPerformance, ModelsPerCategory, MultiCategory } from "@modelgate/shared";
import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { ApiClient } from "../api/client.js";
import { useSession } from "../api/session.js";
import type { Route } from "../app/router.js";
import { ErrorNotice, Loading } from "../components/status.js";
import { Timestamp } from "../components/time.js";
import { type Loaded, useApi } from "../components/use-api.js";
import { CategoryPerformanceChart, ModelsPerCategoryChart, MultiCategoryChart } from "./traffic/analyses.js";
import { WINDOWS, windowFromQuery, windowQuery } from "./traffic/analytics-window.js";

function useAnalysis<T>(api: ApiClient, path: string, from: string): Loaded<T> {
  const [loaded] = useApi((signal) => api.get<T>(path, { from }, signal), [api, path, from]);
  return loaded;
}

function AnalysisCard<T>({
  id,
  title,
  loaded,
  children,
}: {
  id: string;
  title: string;
  loaded: Loaded<T>;
  children: (value: T) => ComponentChildren;
}) {
  return (
    <section class="card traffic-analysis" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {loaded.state === "loading" ? <Loading what={title.toLowerCase()} /> : null}
      {loaded.state === "failed" ? <ErrorNotice error={loaded.error} /> : null}
      {loaded.state === "ready" ? children(loaded.value) : null}
    </section>
  );
}

export function TrafficView({ route }: { route: Route }) {
  const { api } = useSession();
  const choice = windowFromQuery(route.query);
  const [refreshes, setRefreshes] = useState(0);
  // The window's start is fixed when the choice (or Refresh, through `refreshes`) asks, so other
  // re-renders do not refetch.
  const { from } = useMemo(() => windowQuery(choice, Date.now()), [choice, refreshes]);
  const perCategory = useAnalysis<ModelsPerCategory>(api, "/v1/analytics/models-per-category", from);
  const multi = useAnalysis<MultiCategory>(api, "/v1/analytics/multi-category", from);
  const performance = useAnalysis<CategoryPerformance>(api, "/v1/analytics/category-performance", from);
  const shown = perCategory.state === "ready" ? perCategory.value.window : undefined;

  return (
    <>
      <h1>Traffic</h1>
      <div class="row traffic-toolbar">
        <nav aria-label="Window" class="ops-segmented">
          {WINDOWS.map((option) => (
            <a
              key={option.id}
              class="ops-choice"
              href={`#/traffic?window=${option.id}`}
              aria-current={option.id === choice.id ? "true" : undefined}
            >
              {option.label}
            </a>
          ))}
        </nav>
        <button type="button" class="secondary" onClick={() => setRefreshes((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <p class="muted">
        {shown ? (
          <>
            Routed requests from <Timestamp iso={shown.from} /> to <Timestamp iso={shown.to} />.
          </>
        ) : (
          `Routed requests in the ${choice.label.toLowerCase()}.`
        )}{" "}
        Requests that named a model (not an <code>auto:</code> category) are grouped as “explicit model”.
      </p>
      <div class="traffic-analyses">
        <AnalysisCard id="traffic-models-per-category" title="Models per category" loaded={perCategory}>
          {(value) => <ModelsPerCategoryChart data={value} />}
        </AnalysisCard>
        <AnalysisCard id="traffic-multi-category" title="Multi-category use" loaded={multi}>
          {(value) => <MultiCategoryChart data={value} />}
        </AnalysisCard>
        <AnalysisCard id="traffic-category-performance" title="Category performance" loaded={performance}>
          {(value) => <CategoryPerformanceChart data={value} />}
        </AnalysisCard>
      </div>
    </>
  );
}
