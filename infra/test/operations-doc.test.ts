import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ALL_METRICS } from "@modelgate/shared";
import { beforeAll, describe, expect, it } from "vitest";
import { type AlertingRule, alertingRules, loadRuleFile } from "../src/prometheus/rule-files.js";

const OPERATIONS_DOC = fileURLToPath(new URL("../../docs/operations.md", import.meta.url));

interface Section {
  level: number;
  heading: string;
  anchor: string;
  body: string;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function sectionsOf(markdown: string): Section[] {
  const sections: Section[] = [];
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inFence = !inFence;
    const match = inFence ? null : /^(#{1,6}) (.+)$/.exec(line);
    if (match?.[1] && match[2]) {
      const heading = match[2].trim();
      const base = heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      sections.push({ level: match[1].length, heading, anchor: count === 0 ? base : `${base}-${count}`, body: "" });
      continue;
    }
    const current = sections[sections.length - 1];
    if (current) current.body += `${line}\n`;
  }
  return sections;
}

let doc: string;
let sections: Section[];
let rules: AlertingRule[];

beforeAll(async () => {
  doc = await readFile(OPERATIONS_DOC, "utf8");
  sections = sectionsOf(doc);
  rules = alertingRules(await loadRuleFile());
});

describe("docs/operations.md", () => {
  it("lists every catalogued metric (so the reference cannot drift from the catalogue)", () => {
    const missing = ALL_METRICS.map((metric) => metric.name).filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it("lists each metric with its type", () => {
    for (const metric of ALL_METRICS) {
      expect(doc, metric.name).toContain(`| \`${metric.name}\` | ${metric.type} |`);
    }
  });

  it("has a runbook section for every alert, where its runbook annotation points", () => {
    const anchors = new Map(sections.map((section) => [section.anchor, section]));
    for (const rule of rules) {
      const anchor = rule.annotations.runbook?.split("#")[1] ?? "";
      const section = anchors.get(anchor);
      expect(section, `${rule.alert}: no section #${anchor}`).toBeDefined();
      expect(section?.heading).toBe(rule.alert);
      expect(section?.body, `${rule.alert} runbook`).toContain("**Meaning.**");
      expect(section?.body, `${rule.alert} runbook`).toContain("**What to do.**");
    }
  });

  it("names every alert with its severity in the alert table", () => {
    for (const rule of rules) {
      expect(doc, rule.alert).toContain(
        `| [${rule.alert}](#${rule.alert.toLowerCase()}) | ${rule.labels.severity ?? ""} |`,
      );
    }
  });

  it("keeps the Logs section for the structured-logs change", () => {
    expect(sections.some((section) => section.level === 2 && section.heading === "Logs")).toBe(true);
  });
});
