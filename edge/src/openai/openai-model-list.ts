import type { OpenAiModel, VersionSearchItem } from "@modelgate/shared";

/**
 * A search page's causal LMs as OpenAI `model` objects, so `GET /v1/models` is also OpenAI's
 * model list: each version as `name@version`, and a Production version also as its bare `name`
 * (which is what `model: "name"` resolves to).
 */
export function openAiModelList(items: readonly VersionSearchItem[]): { object: "list"; data: OpenAiModel[] } {
  const data: OpenAiModel[] = [];
  for (const version of items) {
    if (version.kind !== "causal-lm") continue;
    const model = (id: string): OpenAiModel => ({
      id,
      object: "model",
      created: Math.floor(Date.parse(version.created_at) / 1000),
      owned_by: "modelgate",
    });
    if (version.stage === "Production") data.push(model(version.name));
    data.push(model(`${version.name}@${version.version}`));
  }
  return { object: "list", data };
}
