/**
 * The Models views: `#/models` (search and filter every version), `#/models/<name>` (one
 * model: versions, aliases, policy, history) and `#/models/<name>/<version>` (one version:
 * seed 003's detail, verification, converted formats and the actions on it).
 */
import type { Route } from "../app/router.js";
import { ModelList } from "./models/model-list.js";
import { ModelPage } from "./models/model-page.js";
import { VersionPage } from "./models/version-page.js";

export function ModelsView({ route }: { route: Route }) {
  const [, name, version] = route.segments;
  if (name === undefined) return <ModelList route={route} />;
  // Keyed, so moving between models or versions starts from a clean page (forms included).
  if (version === undefined) return <ModelPage key={name} name={name} />;
  return <VersionPage key={`${name}@${version}`} name={name} reference={version} />;
}
