/** Placeholder: the models views are being built. */
import type { Route } from "../app/router.js";

export function ModelsView({ route }: { route: Route }) {
  return <h1>Models {route.segments.slice(1).join(" ")}</h1>;
}
