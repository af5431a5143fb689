import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CATALOGUED_SERIES_NAMES, ERROR_CODES } from "@modelgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { metricNamesInPromQL } from "../src/prometheus/promql-metric-names.js";
import { checkConfig, checkRules, testRules } from "../src/prometheus/promtool.js";
import {
  ALERT_RULE_TESTS_PATH,
  ALERT_RULES_PATH,
  type AlertingRule,
  alertingRules,
  loadRuleFile,
  loadRuleTestFile,
  PROMETHEUS_EXAMPLE_CONFIG_PATH,
  type RuleTestFile,
} from "../src/prometheus/rule-files.js";

// Series Prometheus makes itself, not modelgate.
const PROMETHEUS_SERIES = new Set(["up"]);

let rules: AlertingRule[];
let ruleTests: RuleTestFile;
let scratch: string;

beforeAll(async () => {
  rules = alertingRules(await loadRuleFile());
  ruleTests = await loadRuleTestFile();
  scratch = await mkdtemp(join(tmpdir(), "modelgate-rules-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A copy of alerts.yml and alerts.test.yml in the scratch folder, alerts.yml edited by `edit`. */
async function editedCopy(
  name: string,
  edit: (rulesText: string) => string,
): Promise<{ rules: string; tests: string }> {
  const folder = join(scratch, name);
  await mkdir(folder, { recursive: true });
  const original = await readFile(ALERT_RULES_PATH, "utf8");
  const edited = edit(original);
  expect(edited, "the edit must change the rules").not.toBe(original);
  const rulesCopy = join(folder, "alerts.yml");
  const testsCopy = join(folder, "alerts.test.yml");
  await writeFile(rulesCopy, edited);
  await copyFile(ALERT_RULE_TESTS_PATH, testsCopy);
  return { rules: rulesCopy, tests: testsCopy };
}

describe("alerts.yml with promtool", () => {
  it("passes promtool check rules", async () => {
    const result = await checkRules([ALERT_RULES_PATH]);
    expect(result.stderr).toBe("");
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it("passes its promtool unit tests (alerts.test.yml)", async () => {
    const result = await testRules([ALERT_RULE_TESTS_PATH]);
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("SUCCESS");
  });

  it("negative control: a rule with broken PromQL fails the check, naming the rule", async () => {
    const copy = await editedCopy("broken-expr", (text) =>
      text.replace('expr: up{job="modelgate-edge"} == 0', 'expr: up{job="modelgate-edge"} == (0'),
    );
    const result = await checkRules([copy.rules]);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/ModelgateEdgeDown/);
  });

  it("negative control: a changed threshold fails the unit tests", async () => {
    const copy = await editedCopy("changed-threshold", (text) =>
      text.replace("modelgate_gpu_temperature_celsius > 92", "modelgate_gpu_temperature_celsius > 96"),
    );
    const result = await testRules([copy.tests]);
    expect(result.exitCode).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toMatch(/alertname: ModelgateGpuTemperatureCritical/);
  });
});

describe("alerts.test.yml coverage", () => {
  const casesOf = (alert: string) =>
    ruleTests.tests.flatMap((test) => (test.alert_rule_test ?? []).filter((check) => check.alertname === alert));

  it("tests the rule file next to it", () => {
    expect(ruleTests.rule_files).toEqual(["alerts.yml"]);
  });

  it("has, for every alert, a case where it fires and one where it must not", () => {
    for (const rule of rules) {
      const cases = casesOf(rule.alert);
      const firing = cases.filter((check) => (check.exp_alerts ?? []).length > 0);
      const quiet = cases.filter((check) => (check.exp_alerts ?? []).length === 0);
      expect(firing.length, `${rule.alert}: no case where it fires`).toBeGreaterThan(0);
      expect(quiet.length, `${rule.alert}: no case where it must not fire`).toBeGreaterThan(0);
    }
  });

  it("expects exact labels and the summary on every firing case", () => {
    for (const rule of rules) {
      for (const check of casesOf(rule.alert)) {
        for (const expected of check.exp_alerts ?? []) {
          expect(expected.exp_labels?.severity, `${rule.alert} at ${check.eval_time}`).toBe(rule.labels.severity);
          expect(expected.exp_annotations?.summary, `${rule.alert} at ${check.eval_time}`).toBeTruthy();
        }
      }
    }
  });

  it("names only alerts that exist (a misspelt alertname would pass as 'never fires')", () => {
    const known = new Set(rules.map((rule) => rule.alert));
    const named = ruleTests.tests.flatMap((test) => (test.alert_rule_test ?? []).map((check) => check.alertname));
    expect(named.filter((name) => !known.has(name))).toEqual([]);
  });
});

describe("alerts.yml content", () => {
  it("has unique alert names", () => {
    const names = rules.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it("uses only catalogued metric names (and Prometheus' own `up`)", () => {
    for (const rule of rules) {
      const names = metricNamesInPromQL(rule.expr);
      expect(names.length, `${rule.alert} reads no metric`).toBeGreaterThan(0);
      const unknown = names.filter((name) => !CATALOGUED_SERIES_NAMES.has(name) && !PROMETHEUS_SERIES.has(name));
      expect(unknown, `${rule.alert} names metrics missing from the catalogue`).toEqual([]);
    }
  });

  it("gives every alert a severity, a templated summary and description, and a runbook section", () => {
    for (const rule of rules) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels.severity);
      const { summary, description, runbook } = rule.annotations;
      expect(summary, `${rule.alert} summary`).toBeTruthy();
      expect(description, `${rule.alert} description`).toBeTruthy();
      expect(`${summary} ${description}`, `${rule.alert} annotations name no label or value`).toMatch(
        /\{\{[^}]*\$(labels\.\w+|value)/,
      );
      expect(runbook, `${rule.alert} runbook`).toMatch(/^docs\/operations\.md#[a-z0-9-]+$/);
    }
  });

  it("counts as worker failures exactly the error codes that are not the caller's fault (status >= 500)", () => {
    const rule = rules.find((candidate) => candidate.alert === "ModelgateWorkerHighFailureRate");
    const excluded = rule?.expr.match(/code!~"([^"]+)"/)?.[1]?.split("|") ?? [];
    const clientCodes = Object.entries(ERROR_CODES)
      .filter(([, status]) => status < 500)
      .map(([code]) => code);
    expect([...excluded].sort()).toEqual([...clientCodes].sort());
  });
});

describe("prometheus.example.yml", () => {
  const ScrapeConfigSchema = z.object({
    job_name: z.string(),
    metrics_path: z.string().optional(),
    authorization: z.object({ type: z.string().optional(), credentials_file: z.string() }).optional(),
    static_configs: z.array(z.object({ targets: z.array(z.string()) })).optional(),
  });
  const ConfigSchema = z.object({
    global: z.object({ scrape_interval: z.string(), evaluation_interval: z.string() }),
    rule_files: z.array(z.string()),
    scrape_configs: z.array(ScrapeConfigSchema),
  });

  it("is a valid Prometheus configuration (syntax: its credential files live on the Prometheus host)", async () => {
    const result = await checkConfig(PROMETHEUS_EXAMPLE_CONFIG_PATH, { syntaxOnly: true });
    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it("scrapes the two fixed jobs every 15 s, the edge with a bearer token, and loads alerts.yml", async () => {
    const config = ConfigSchema.parse(parse(await readFile(PROMETHEUS_EXAMPLE_CONFIG_PATH, "utf8")));
    expect(config.global.scrape_interval).toBe("15s");
    expect(config.rule_files).toEqual(["alerts.yml"]);
    const rulePath = join(dirname(PROMETHEUS_EXAMPLE_CONFIG_PATH), "alerts.yml");
    expect(rulePath).toBe(ALERT_RULES_PATH);

    const jobs = new Map(config.scrape_configs.map((job) => [job.job_name, job]));
    expect([...jobs.keys()].sort()).toEqual(["modelgate-edge", "modelgate-worker"]);
    const edge = jobs.get("modelgate-edge");
    expect(edge?.metrics_path).toBe("/metrics");
    expect(edge?.authorization?.credentials_file).toBeTruthy();
    expect(jobs.get("modelgate-worker")?.static_configs?.[0]?.targets.length).toBeGreaterThan(0);
  });
});
