/**
 * The PromQL a Grafana dashboard runs, read out of its JSON model so tests can check every
 * query with promtool and against the metric catalogue: a dashboard that names a metric nobody
 * exports shows "No data" for ever instead of failing anywhere.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** The dashboard Grafana provisions (infra/grafana/dashboards/modelgate.json). */
export const MODELGATE_DASHBOARD_PATH = fileURLToPath(
  new URL("../../grafana/dashboards/modelgate.json", import.meta.url),
);

export interface DashboardQuery {
  panelTitle: string;
  refId: string;
  /** The expression as written, Grafana variables included. */
  expr: string;
}

/** Reads and parses a dashboard's JSON model (the modelgate dashboard unless told otherwise). */
export async function loadDashboard(path: string = MODELGATE_DASHBOARD_PATH): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${path} is not valid JSON: ${reason}`);
  }
}

// Only the parts of Grafana's model read here; everything else passes through untouched.
const TargetSchema = z.looseObject({
  refId: z.string().optional(),
  expr: z.string().optional(),
});

const PanelSchema = z.looseObject({
  title: z.string().optional(),
  type: z.string().optional(),
  targets: z.array(TargetSchema).optional(),
  // A collapsed row keeps its panels inside itself.
  get panels() {
    return z.array(PanelSchema).optional();
  },
});

type Panel = z.infer<typeof PanelSchema>;

const TemplateVariableSchema = z.looseObject({
  name: z.string(),
  type: z.string(),
  query: z.unknown().optional(),
  current: z.looseObject({ value: z.unknown().optional() }).optional(),
});

const DashboardSchema = z.looseObject({
  panels: z.array(PanelSchema),
  templating: z.looseObject({ list: z.array(TemplateVariableSchema) }).optional(),
});

function parseDashboard(dashboard: unknown): z.infer<typeof DashboardSchema> {
  const parsed = DashboardSchema.safeParse(dashboard);
  if (!parsed.success) throw new Error(`Not a Grafana dashboard model: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Every target with a PromQL `expr`, in panel order, the panels of rows (collapsed or not) included. */
export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: readonly Panel[]): void => {
    for (const panel of panels) {
      const panelTitle = panel.title ?? "(untitled panel)";
      (panel.targets ?? []).forEach((target, index) => {
        if (typeof target.expr !== "string") return;
        // Grafana names targets A, B, C… when the JSON leaves refId out.
        queries.push({ panelTitle, refId: target.refId ?? String.fromCharCode(65 + index), expr: target.expr });
      });
      visit(panel.panels ?? []);
    }
  };
  visit(parseDashboard(dashboard).panels);
  return queries;
}

/**
 * Values to stand in for a dashboard's template variables: the datasource variable becomes
 * `prometheus`, a constant or text box its value, anything else (query, custom: usually a
 * label filter with "All") `.*`.
 */
export function dashboardVariableValues(dashboard: unknown): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of parseDashboard(dashboard).templating?.list ?? []) {
    if (variable.type === "datasource") values[variable.name] = "prometheus";
    else if ((variable.type === "constant" || variable.type === "textbox") && typeof variable.query === "string")
      values[variable.name] = variable.query;
    else values[variable.name] = ".*";
  }
  return values;
}

/**
 * Grafana's own variables, at what they resolve to for a 15 s scrape interval over the last
 * hour: `$__rate_interval` is four scrape intervals, the smallest safe `rate()` window.
 */
const BUILT_IN_VALUES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __rate_interval_ms: "60000",
  __interval: "15s",
  __interval_ms: "15000",
  __auto: "15s",
  __range: "1h",
  __range_s: "3600",
  __range_ms: "3600000",
};

// `$name`, `${name}`, `${name:format}`, `[[name]]`, `[[name:format]]` (the forms Grafana expands).
const VARIABLE_REFERENCE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]|\$(\w+)/g;

/**
 * `expr` as plain PromQL: Grafana's built-in intervals become durations, other variables the
 * given `variables`. Without `variables` every other name becomes `.*` (a label filter set to
 * All); with them, an unknown name is left as written, as Grafana does, so a typo fails to parse.
 * `$1`-style references (label_replace's capture groups) are never variables.
 */
export function substituteGrafanaVariables(expr: string, variables?: Readonly<Record<string, string>>): string {
  return expr.replace(VARIABLE_REFERENCE, (reference, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare ?? "";
    if (/^\d+$/.test(name)) return reference;
    const builtIn = BUILT_IN_VALUES[name];
    if (builtIn !== undefined) return builtIn;
    if (variables === undefined) return ".*";
    return variables[name] ?? reference;
  });
}
