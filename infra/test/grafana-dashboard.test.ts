import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CATALOGUED_SERIES_NAMES, seriesNamesOf, WORKER_METRICS } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import {
  type DashboardQuery,
  dashboardQueries,
  dashboardVariableValues,
  loadDashboard,
  MODELGATE_DASHBOARD_PATH,
  substituteGrafanaVariables,
} from "../src/grafana/dashboard-queries.js";
import { metricNamesInPromQL } from "../src/prometheus/promql-metric-names.js";
import { checkRules, type PromtoolResult } from "../src/prometheus/promtool.js";

const PROMETHEUS_SERIES = new Set(["up"]);
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
const DATASOURCE_VARIABLE = { type: "prometheus", uid: "${datasource}" };
const WORKER_SERIES = new Set(Object.values(WORKER_METRICS).flatMap(seriesNamesOf));

const GridPosSchema = z.object({
  h: z.number().int().positive(),
  w: z.number().int().positive(),
  x: z.number().int().min(0),
  y: z.number().int().min(0),
});
interface Panel {
  id?: unknown;
  type?: unknown;
  title?: unknown;
  gridPos?: unknown;
  targets?: Array<{ expr?: unknown; datasource?: unknown }>;
  panels?: Panel[];
}
const DashboardSchema = z.looseObject({
  uid: z.string(),
  title: z.string(),
  schemaVersion: z.number(),
  panels: z.array(z.looseObject({})),
  templating: z.object({
    list: z.array(
      z.looseObject({
        name: z.string(),
        type: z.string(),
        query: z.unknown(),
        definition: z.string().optional(),
        includeAll: z.boolean().optional(),
        datasource: z.unknown().optional(),
      }),
    ),
  }),
});

let dashboardJson: unknown;
let dashboard: z.infer<typeof DashboardSchema>;
let panels: Panel[];
let queries: DashboardQuery[];
let variables: Record<string, string>;
let scratch: string;

function allPanels(list: readonly Panel[]): Panel[] {
  return list.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

/** Every query as a recording rule, so promtool's own PromQL parser checks it and names the rule. */
async function checkAsRecordingRules(
  name: string,
  exprs: ReadonlyArray<{ record: string; expr: string }>,
): Promise<PromtoolResult> {
  const file = join(scratch, `${name}.rules.yml`);
  const rules = exprs.map(({ record, expr }) => ({ record, expr }));
  await writeFile(file, JSON.stringify({ groups: [{ name, rules }] }, null, 2));
  return checkRules([file]);
}

const recordName = (query: DashboardQuery, index: number) => `dashboard_query_${index}_${query.refId}`;

beforeAll(async () => {
  dashboardJson = await loadDashboard();
  dashboard = DashboardSchema.parse(dashboardJson);
  panels = allPanels(dashboard.panels as Panel[]);
  queries = dashboardQueries(dashboardJson);
  variables = dashboardVariableValues(dashboardJson);
  scratch = await mkdtemp(join(tmpdir(), "modelgate-dashboard-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("the modelgate Grafana dashboard", () => {
  it("is the provisioned dashboard: fixed uid, a current schema", () => {
    expect(dashboard.uid).toBe("modelgate-overview");
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it("offers a Prometheus datasource picker and a worker filter with All", () => {
    const byName = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    const datasource = byName.get("datasource");
    expect(datasource?.type).toBe("datasource");
    expect(datasource?.query).toBe("prometheus");
    const worker = byName.get("worker_id");
    expect(worker?.type).toBe("query");
    expect(worker?.definition).toBe("label_values(modelgate_worker_info, worker_id)");
    expect(JSON.stringify(worker?.query)).toContain("label_values(modelgate_worker_info, worker_id)");
    expect(worker?.includeAll).toBe(true);
    expect(worker?.datasource).toEqual(DATASOURCE_VARIABLE);
  });

  it("has unique panel ids", () => {
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => typeof id === "number")).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives every panel a title, a place on the 24-column grid and at least one PromQL target", () => {
    for (const panel of panels) {
      const title = typeof panel.title === "string" ? panel.title : "";
      expect(title, `panel ${String(panel.id)} has no title`).not.toBe("");
      const grid = GridPosSchema.parse(panel.gridPos);
      expect(grid.x + grid.w, `${title} is wider than the grid`).toBeLessThanOrEqual(24);
      if (panel.type === "row") continue;
      const exprs = (panel.targets ?? []).filter((target) => typeof target.expr === "string" && target.expr !== "");
      expect(exprs.length, `${title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${title} does not use the datasource variable`).toEqual(DATASOURCE_VARIABLE);
      }
    }
  });

  it("has panels that do not overlap", () => {
    const cells = new Map<string, string>();
    for (const panel of panels) {
      const { h, w, x, y } = GridPosSchema.parse(panel.gridPos);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const key = `${row}:${column}`;
          expect(cells.get(key), `${String(panel.title)} overlaps`).toBeUndefined();
          cells.set(key, String(panel.title));
        }
      }
    }
  });

  it("reads out every target of every panel", () => {
    const targets = panels.flatMap((panel) => panel.targets ?? []).filter((target) => typeof target.expr === "string");
    expect(queries).toHaveLength(targets.length);
  });

  it("runs only valid PromQL once Grafana's variables are filled in (checked by promtool)", async () => {
    const rules = queries.map((query, index) => ({
      record: recordName(query, index),
      expr: substituteGrafanaVariables(query.expr, variables),
    }));
    const result = await checkAsRecordingRules("dashboard", rules);
    const failing = result.stderr.match(/dashboard_query_\d+_[A-Z]/g) ?? [];
    const panelsAtFault = failing.map((record) => queries[Number(record.split("_")[2])]?.panelTitle);
    expect(result.exitCode, `${result.stderr}\npanels: ${panelsAtFault.join(", ")}`).toBe(0);
  });

  it("negative control: an invalid query fails the promtool check, naming its rule", async () => {
    const result = await checkAsRecordingRules("broken", [
      { record: "dashboard_query_0_A", expr: "sum(rate(modelgate_generation_tokens_total[1m])" },
      { record: "dashboard_query_1_A", expr: substituteGrafanaVariables("rate(up[$typo_interval])", variables) },
    ]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("dashboard_query_0_A");
    expect(result.stderr).toContain("dashboard_query_1_A");
  });

  it("uses only catalogued metric names", () => {
    for (const query of queries) {
      const names = metricNamesInPromQL(substituteGrafanaVariables(query.expr, variables));
      expect(names.length, `${query.panelTitle} ${query.refId} reads no metric`).toBeGreaterThan(0);
      const unknown = names.filter((name) => !CATALOGUED_SERIES_NAMES.has(name) && !PROMETHEUS_SERIES.has(name));
      expect(unknown, `${query.panelTitle} ${query.refId}`).toEqual([]);
    }
  });

  it("covers the catalogue's main families", () => {
    const used = new Set(queries.flatMap((query) => metricNamesInPromQL(substituteGrafanaVariables(query.expr))));
    for (const family of [
      "modelgate_gpu_utilization_ratio",
      "modelgate_gpu_memory_used_bytes",
      "modelgate_gpu_temperature_celsius",
      "modelgate_edge_requests_total",
      "modelgate_edge_request_duration_seconds_bucket",
      "modelgate_inference_request_success_total",
      "modelgate_inference_request_failure_total",
      "modelgate_generation_tokens_total",
      "modelgate_halt_probability_bucket",
      "modelgate_refinement_loops_sum",
      "modelgate_generation_stop_reason_total",
      "modelgate_inference_batch_size_bucket",
      "modelgate_edge_conversion_jobs",
      "modelgate_edge_circuit_state",
      "modelgate_edge_production_live_workers",
    ]) {
      expect(used, family).toContain(family);
    }
  });

  it("filters every worker metric by the $worker_id variable", () => {
    for (const query of queries) {
      const workerNames = metricNamesInPromQL(substituteGrafanaVariables(query.expr)).filter((name) =>
        WORKER_SERIES.has(name),
      );
      if (workerNames.length === 0) continue;
      const selectors = query.expr.match(/modelgate_[a-z_]+(\{[^}]*\})?/g) ?? [];
      for (const selector of selectors.filter((text) => WORKER_SERIES.has(text.split("{")[0] ?? ""))) {
        expect(selector, `${query.panelTitle} ${query.refId}`).toContain('worker_id=~"$worker_id"');
      }
    }
  });

  it("uses $__rate_interval for every rate() over a short window", () => {
    for (const query of queries) {
      for (const window of query.expr.matchAll(/\brate\([^[]*\[([^\]]+)\]/g)) {
        expect(window[1], `${query.panelTitle} ${query.refId}`).toBe("$__rate_interval");
      }
    }
  });
});

describe("Grafana provisioning", () => {
  const provisioning = (path: string) => new URL(`../grafana/provisioning/${path}`, import.meta.url);

  it("provisions a Prometheus datasource at http://prometheus:9090 with uid prometheus", async () => {
    const file = z
      .object({
        apiVersion: z.literal(1),
        datasources: z.array(
          z.looseObject({ type: z.string(), uid: z.string(), url: z.string(), jsonData: z.looseObject({}).optional() }),
        ),
      })
      .parse(parse(await readFile(provisioning("datasources/prometheus.yml"), "utf8")));
    expect(file.datasources).toHaveLength(1);
    expect(file.datasources[0]).toMatchObject({ type: "prometheus", uid: "prometheus", url: "http://prometheus:9090" });
    // $__rate_interval is four scrape intervals: Grafana must know Prometheus scrapes every 15 s.
    expect(file.datasources[0]?.jsonData).toMatchObject({ timeInterval: "15s" });
  });

  it("loads dashboards from a folder, with the dashboard file in the repository", async () => {
    const file = z
      .object({
        apiVersion: z.literal(1),
        providers: z.array(z.looseObject({ type: z.literal("file"), options: z.object({ path: z.string() }) })),
      })
      .parse(parse(await readFile(provisioning("dashboards/modelgate.yml"), "utf8")));
    expect(file.providers).toHaveLength(1);
    expect(file.providers[0]?.options.path).toMatch(/^\//);
    await expect(readFile(MODELGATE_DASHBOARD_PATH, "utf8")).resolves.toContain('"uid": "modelgate-overview"');
  });
});

describe("dashboard-queries helpers", () => {
  const nested = {
    panels: [
      { id: 1, type: "row", title: "Open row", collapsed: false, panels: [] },
      { id: 2, type: "timeseries", title: "Top level", targets: [{ refId: "A", expr: "up" }, { expr: "vector(1)" }] },
      {
        id: 3,
        type: "row",
        title: "Collapsed row",
        collapsed: true,
        panels: [
          {
            id: 4,
            type: "stat",
            title: "Inside",
            targets: [{ refId: "Q", expr: "modelgate_loaded_models" }, { refId: "L" }],
          },
        ],
      },
    ],
  };

  it("reads targets of top-level panels and of panels inside collapsed rows, naming refIds Grafana's way", () => {
    expect(dashboardQueries(nested)).toEqual([
      { panelTitle: "Top level", refId: "A", expr: "up" },
      { panelTitle: "Top level", refId: "B", expr: "vector(1)" },
      { panelTitle: "Inside", refId: "Q", expr: "modelgate_loaded_models" },
    ]);
  });

  it("refuses something that is not a dashboard model", () => {
    expect(() => dashboardQueries({ rows: [] })).toThrow(/Not a Grafana dashboard model/);
    expect(() => dashboardQueries({ panels: [{ targets: [{ expr: 3 }] }] })).toThrow(/Not a Grafana dashboard model/);
  });

  it("turns Grafana's interval variables into durations", () => {
    expect(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
      substituteGrafanaVariables("rate(x[$__rate_interval]) + increase(x[$__range]) + rate(x[${__interval}])"),
    ).toBe("rate(x[1m]) + increase(x[1h]) + rate(x[15s])");
    expect(substituteGrafanaVariables("x / $__range_s * $__interval_ms")).toBe("x / 3600 * 15000");
  });

  it("turns label variables in any of Grafana's forms into a match-all, and leaves $1 capture groups alone", () => {
    expect(
      substituteGrafanaVariables(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
        'x{worker_id=~"$worker_id", a=~"${worker_id}", b=~"${worker_id:regex}", c=~"[[worker_id]]"}',
      ),
    ).toBe('x{worker_id=~".*", a=~".*", b=~".*", c=~".*"}');
    expect(substituteGrafanaVariables('label_replace(x, "y", "$1", "z", "(.*)")')).toBe(
      'label_replace(x, "y", "$1", "z", "(.*)")',
    );
  });

  it("with the dashboard's own variables, leaves an unknown name as written so a typo fails to parse", () => {
    expect(substituteGrafanaVariables('x{w=~"$worker_id"}[$typo]', { worker_id: "gpu-a" })).toBe(
      'x{w=~"gpu-a"}[$typo]',
    );
    expect(
      dashboardVariableValues({
        panels: [],
        templating: {
          list: [
            { name: "datasource", type: "datasource", query: "prometheus" },
            { name: "worker_id", type: "query", query: "label_values(modelgate_worker_info, worker_id)" },
            { name: "quantile", type: "constant", query: "0.95" },
          ],
        },
      }),
    ).toEqual({ datasource: "prometheus", worker_id: ".*", quantile: "0.95" });
  });
});
