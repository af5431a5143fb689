import { SelectionFlagsPatchSchema, SelectionFlagsSchema } from "@modelgate/shared";
import { component, type RouteSpec } from "./route-spec.js";

const SelectionFlags = component("SelectionFlags", SelectionFlagsSchema);

const FLAGS_HELP =
  "`benchmark_scoring` (off: the Production version, most recently promoted first), `multi_category` " +
  "(off: only versions whose primary category is the one asked for), `gpu_awareness` (off: live workers " +
  "only, shortest queue first). Every routing decision reads them; a change applies to the next request.";

export const selectionRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/v1/admin/selection-flags",
    scope: "admin",
    tag: "Routing",
    summary: "Read the routing feature flags",
    description: FLAGS_HELP,
    responses: { 200: { description: "The flags in force.", schema: SelectionFlags } },
  },
  {
    method: "PATCH",
    path: "/v1/admin/selection-flags",
    scope: "admin",
    tag: "Routing",
    summary: "Switch routing features off or on (seed 002's rollback plan)",
    description: `${FLAGS_HELP} Name at least one flag; the others keep their value.`,
    body: component("SelectionFlagsPatch", SelectionFlagsPatchSchema),
    responses: { 200: { description: "The flags now in force.", schema: SelectionFlags } },
  },
];
