/** Placeholder: the traffic view is being built. */
import type { Route } from "../app/router.js";

export function TrafficView({ route }: { route: Route }) {
  return <h1>Traffic {route.query.get("window") ?? ""}</h1>;
}
