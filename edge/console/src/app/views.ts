/** The console's pages, the scope each needs (the API's own), and where the nav links go. */
import type { Scope } from "@modelgate/shared";

export interface ViewEntry {
  id: "models" | "fleet" | "traffic" | "playground" | "keys";
  label: string;
  /** The scope the view's main API call needs; a key without it does not see the view. */
  scope: Scope;
}

export const VIEWS: readonly ViewEntry[] = [
  { id: "models", label: "Models", scope: "models:read" },
  { id: "fleet", label: "Fleet", scope: "admin" },
  { id: "traffic", label: "Traffic", scope: "admin" },
  { id: "playground", label: "Playground", scope: "infer" },
  { id: "keys", label: "Keys", scope: "admin" },
];
