import type { JsonSchema } from "./json-schemas.js";
import type { OpenApiDocument, OpenApiOperation } from "./openapi-document.js";

/** Everything interpolated into the page goes through here: descriptions are data, not markup. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** `code` spans only, after escaping: enough markdown for the descriptions we write. */
function prose(text: string): string {
  return escapeHtml(text)
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${paragraph}</p>`)
    .join("");
}

function anchorFor(kind: "op" | "schema", name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

type Components = OpenApiDocument["components"]["schemas"];

function linkedJson(schema: JsonSchema): string {
  return escapeHtml(JSON.stringify(schema, null, 2)).replace(
    /&quot;#\/components\/schemas\/([A-Za-z0-9_.-]+)&quot;/g,
    (_match, name: string) => `&quot;<a href="#${anchorFor("schema", name)}">#/components/schemas/${name}</a>&quot;`,
  );
}

function componentLink(name: string): string {
  return `<a href="#${anchorFor("schema", name)}">${escapeHtml(name)}</a>`;
}

function refName(schema: JsonSchema): string | undefined {
  const ref = schema.$ref;
  return typeof ref === "string" && ref.startsWith("#/components/schemas/") ? ref.split("/").pop() : undefined;
}

/**
 * A collapsible, pretty-printed schema. A top-level reference is shown resolved, so a reader
 * sees the shape where it is used; nested references link to the Schemas section.
 */
function schemaBlock(schema: JsonSchema, label: string, components: Components): string {
  const name = refName(schema);
  const shown = (name ? components[name] : undefined) ?? schema;
  const title = `${escapeHtml(label)}${name ? ` — ${escapeHtml(name)}` : ""}`;
  return `<details><summary>${title}</summary>${name ? `<p>Schema ${componentLink(name)}</p>` : ""}<pre>${linkedJson(shown)}</pre></details>`;
}

function mediaBlock(contentType: string, schema: JsonSchema, components: Components): string {
  const name = refName(schema);
  // Every error has the same shape: a link reads better than the same schema a dozen times.
  if (name === "Problem") return `<p><code>${escapeHtml(contentType)}</code> — ${componentLink(name)}</p>`;
  return schemaBlock(schema, contentType, components);
}

function operationSection(path: string, method: string, operation: OpenApiOperation, components: Components): string {
  const scope = operation["x-required-scope"];
  const parts: string[] = [
    `<section class="op" id="${anchorFor("op", operation.operationId)}">`,
    `<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p class="summary">${escapeHtml(operation.summary)} <span class="scope">${
      scope === "public" ? "public" : `scope: <code>${escapeHtml(scope)}</code>`
    }</span></p>`,
    prose(operation.description),
  ];
  if (operation.parameters?.length) {
    const rows = operation.parameters
      .map(
        (p) =>
          `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? "yes" : "no"}</td>` +
          `<td>${p.description ? escapeHtml(p.description) : ""}</td><td>${schemaBlock(p.schema, "schema", components)}</td></tr>`,
      )
      .join("");
    parts.push(
      `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>about</th><th></th></tr>${rows}</table>`,
    );
  }
  for (const [contentType, media] of Object.entries(operation.requestBody?.content ?? {})) {
    parts.push(`<h4>Request body</h4>${schemaBlock(media.schema, contentType, components)}`);
  }
  const rows = Object.entries(operation.responses).map(([status, response]) => {
    const bodies = Object.entries(response.content ?? {})
      .map(([contentType, media]) => mediaBlock(contentType, media.schema, components))
      .join("");
    return `<tr><td><code>${escapeHtml(status)}</code></td><td>${prose(response.description)}${bodies}</td></tr>`;
  });
  parts.push(`<h4>Responses</h4><table>${rows.join("")}</table>`, "</section>");
  return parts.join("\n");
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2rem auto;padding:0 1rem;color:#1d2430}
h1{margin-bottom:0}h2{border-bottom:1px solid #d6dbe3;padding-bottom:.3rem;margin-top:2.5rem}
code,pre{font:13px/1.4 ui-monospace,Menlo,monospace}pre{background:#f4f6f9;padding:.7rem;overflow:auto;margin:.3rem 0}
.op{border:1px solid #d6dbe3;border-radius:6px;padding:.2rem 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.5rem;text-align:center;border-radius:4px;color:#fff;padding:0 .4rem;font-size:13px}
.get{background:#2f6fb3}.post{background:#2e8b57}.put,.patch{background:#b07d1a}.delete{background:#b3392f}
.scope{margin-left:.5rem;font-size:13px;background:#eef1f6;border-radius:4px;padding:.1rem .4rem}
table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #e3e7ee;padding:.3rem .5rem;text-align:left;vertical-align:top}
nav ul{columns:2}summary{cursor:pointer}`;

/** One self-contained page (no scripts, no external resources) rendered from the document. */
export function renderDocsPage(document: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  const index = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const tag = operation.tags[0] ?? "Other";
      byTag.set(tag, [
        ...(byTag.get(tag) ?? []),
        operationSection(path, method, operation, document.components.schemas),
      ]);
      index.set(tag, [
        ...(index.get(tag) ?? []),
        `<li><a href="#${anchorFor("op", operation.operationId)}">${escapeHtml(method.toUpperCase())} ${escapeHtml(path)}</a></li>`,
      ]);
    }
  }
  const tags = document.tags.map((t) => t.name).filter((name) => byTag.has(name));
  const title = `${document.info.title} API ${document.info.version}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(document.openapi)}).</p>
<h2 id="auth">Authentication</h2>
${prose(document.info.description)}
<nav><h2>Routes</h2>${tags
    .map((tag) => `<h4>${escapeHtml(tag)}</h4><ul>${(index.get(tag) ?? []).join("")}</ul>`)
    .join("\n")}</nav>
${tags.map((tag) => `<h2>${escapeHtml(tag)}</h2>\n${(byTag.get(tag) ?? []).join("\n")}`).join("\n")}
<h2 id="schemas">Schemas</h2>
${Object.entries(document.components.schemas)
  .map(
    ([name, schema]) =>
      `<section id="${anchorFor("schema", name)}"><details><summary>${escapeHtml(name)}</summary><pre>${linkedJson(schema)}</pre></details></section>`,
  )
  .join("\n")}
</body></html>
`;
}
