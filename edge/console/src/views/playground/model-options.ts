/**
 * Suggestions for the playground's model field: the Production models a generation can use,
 * their `auto:` categories and the scorer models a judge can name. They come from the registry,
 * so a key without `models:read` gets none (it can still type any target).
 */
import type { VersionSearchPage } from "@modelgate/shared";
import { useSession } from "../../api/session.js";
import { useApi } from "../../components/use-api.js";

export interface ModelOptions {
  targets: string[];
  scorers: string[];
  /** Why there are none, when the registry could not be asked. */
  unavailable?: string;
}

export function useModelOptions(): ModelOptions {
  const { api, can } = useSession();
  const readable = can("models:read");
  const [loaded] = useApi(
    async (signal) =>
      readable ? api.get<VersionSearchPage>("/v1/models", { stage: "Production", limit: 1000 }, signal) : undefined,
    [api, readable],
  );
  if (!readable) return { targets: [], scorers: [], unavailable: "this key cannot read the registry (models:read)" };
  if (loaded.state === "failed") {
    return { targets: [], scorers: [], unavailable: loaded.error instanceof Error ? loaded.error.message : "failed" };
  }
  if (loaded.state !== "ready" || !loaded.value) return { targets: [], scorers: [] };
  const lms = loaded.value.items.filter((version) => version.kind === "causal-lm");
  const names = [...new Set(lms.map((version) => version.name))].sort();
  const categories = [...new Set(lms.flatMap((version) => version.categories))].sort();
  const scorers = [
    ...new Set(loaded.value.items.filter((version) => version.kind === "scorer").map((v) => v.name)),
  ].sort();
  return { targets: [...names, ...categories.map((category) => `auto:${category}`)], scorers };
}
