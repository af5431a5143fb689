/**
 * modelgate's Prometheus rule file and its promtool unit tests, read as data: promtool checks
 * that they run, these shapes let tests check what promtool does not (every alert tested both
 * ways, every metric catalogued, every runbook written).
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { z } from "zod";

export const ALERT_RULES_PATH = fileURLToPath(new URL("../../prometheus/alerts.yml", import.meta.url));
export const ALERT_RULE_TESTS_PATH = fileURLToPath(new URL("../../prometheus/alerts.test.yml", import.meta.url));
export const PROMETHEUS_EXAMPLE_CONFIG_PATH = fileURLToPath(
  new URL("../../prometheus/prometheus.example.yml", import.meta.url),
);

const StringMapSchema = z.record(z.string(), z.string());

const RuleSchema = z.union([
  z.object({
    alert: z.string(),
    expr: z.string(),
    for: z.string().optional(),
    labels: StringMapSchema.optional(),
    annotations: StringMapSchema.optional(),
  }),
  z.object({ record: z.string(), expr: z.string(), labels: StringMapSchema.optional() }),
]);

export const RuleFileSchema = z.object({
  groups: z.array(z.object({ name: z.string(), interval: z.string().optional(), rules: z.array(RuleSchema) })),
});

export const RuleTestFileSchema = z.object({
  rule_files: z.array(z.string()),
  evaluation_interval: z.string().optional(),
  tests: z.array(
    z.object({
      name: z.string().optional(),
      interval: z.string().optional(),
      input_series: z.array(z.object({ series: z.string(), values: z.string() })).optional(),
      alert_rule_test: z
        .array(
          z.object({
            eval_time: z.string(),
            alertname: z.string(),
            exp_alerts: z
              .array(z.object({ exp_labels: StringMapSchema.optional(), exp_annotations: StringMapSchema.optional() }))
              .nullish(),
          }),
        )
        .optional(),
    }),
  ),
});

export type RuleFile = z.infer<typeof RuleFileSchema>;
export type RuleTestFile = z.infer<typeof RuleTestFileSchema>;

export interface AlertingRule {
  group: string;
  alert: string;
  expr: string;
  for: string | undefined;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

async function readYaml<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(parse(await readFile(path, "utf8")));
  if (!parsed.success) throw new Error(`${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export function loadRuleFile(path: string = ALERT_RULES_PATH): Promise<RuleFile> {
  return readYaml(path, RuleFileSchema);
}

export function loadRuleTestFile(path: string = ALERT_RULE_TESTS_PATH): Promise<RuleTestFile> {
  return readYaml(path, RuleTestFileSchema);
}

/** The alerting rules of a rule file (recording rules left out), with the group each is in. */
export function alertingRules(file: RuleFile): AlertingRule[] {
  return file.groups.flatMap((group) =>
    group.rules.flatMap((rule) =>
      "alert" in rule
        ? [
            {
              group: group.name,
              alert: rule.alert,
              expr: rule.expr,
              for: rule.for,
              labels: rule.labels ?? {},
              annotations: rule.annotations ?? {},
            },
          ]
        : [],
    ),
  );
}
