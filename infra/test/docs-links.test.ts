/**
 * The README and docs/ link to each other and into the code; a moved section or a renamed file
 * must not leave a reader at a dead end. Every relative link must name a file that exists and,
 * for `file.md#anchor`, a heading that exists (GitHub's anchor rules). The README stays what a
 * newcomer reads in five minutes (under 12 KB); the reference lives in docs/.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { REPO_ROOT } from "@modelgate/infra/local-stack";
import { describe, expect, it } from "vitest";

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function headingsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inCode = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) inCode = !inCode;
    const match = inCode ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (match?.[1]) anchors.add(anchorOf(match[1]));
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, "");
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? "").filter((l) => !/^[a-z]+:/.test(l));
}

async function markdownFiles(): Promise<string[]> {
  const docs = (await readdir(join(REPO_ROOT, "docs"))).filter((f) => f.endsWith(".md")).map((f) => join("docs", f));
  return ["README.md", ...docs];
}

describe("the README and docs/", () => {
  it("link only to files and headings that exist", async () => {
    const dead: string[] = [];
    for (const file of await markdownFiles()) {
      const text = await readFile(join(REPO_ROOT, file), "utf8");
      for (const link of linksOf(text)) {
        const [target = "", anchor] = link.split("#");
        const path = target === "" ? join(REPO_ROOT, file) : resolve(dirname(join(REPO_ROOT, file)), target);
        if (!existsSync(path)) {
          dead.push(`${file}: ${link} (no such file)`);
          continue;
        }
        if (anchor && path.endsWith(".md") && !headingsOf(await readFile(path, "utf8")).has(anchor)) {
          dead.push(`${file}: ${link} (no such heading)`);
        }
      }
    }
    expect(dead).toEqual([]);
  });

  it("keep the README to a newcomer's five minutes, with the two commands and a way to every reference page", async () => {
    const readme = await readFile(join(REPO_ROOT, "README.md"), "utf8");
    expect((await stat(join(REPO_ROOT, "README.md"))).size).toBeLessThan(12 * 1024);
    expect(readme).toContain("npm ci && npm start");
    expect(readme).toContain("npm ci && npm test");
    for (const page of [
      "engine",
      "api",
      "cli",
      "routing",
      "registry",
      "conversion",
      "operations",
      "deploy",
      "benchmarks",
    ]) {
      expect(readme, page).toContain(`(docs/${page}.md)`);
    }
  });

  it("finds a dead link (negative control)", () => {
    expect(linksOf("see [x](missing.md#nowhere) and [y](https://example.com)")).toEqual(["missing.md#nowhere"]);
    expect(anchorOf("Routing: one decision over model, worker and GPU")).toBe(
      "routing-one-decision-over-model-worker-and-gpu",
    );
    expect(anchorOf("KServe V2 (Open Inference Protocol)")).toBe("kserve-v2-open-inference-protocol");
  });
});
