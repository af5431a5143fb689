/**
 * Hash routing (`#/models/demo-lm/1`): the server only ever serves one page, so a reload or a
 * shared link lands on the right view without any server-side routes.
 */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** The path after `#`, e.g. `/models/demo-lm/1`. */
  path: string;
  segments: string[];
  query: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#/, "") || "/models";
  const [path = "/models", search = ""] = hash.split("?");
  return {
    path,
    segments: path.split("/").filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** `#/models/demo-lm` from parts (each part encoded). */
export function href(...parts: Array<string | number>): string {
  return `#/${parts.map((part) => encodeURIComponent(String(part))).join("/")}`;
}

export function navigate(to: string): void {
  location.hash = to.replace(/^#/, "");
}
