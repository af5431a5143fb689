import { WhoAmISchema } from "@modelgate/shared";
import { z } from "zod";
import { component, problemResponses, type RouteSpec } from "./route-spec.js";

const ConsoleFileParamsSchema = z.strictObject({
  file: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .meta({ examples: ["index.html"] }),
});

export const consoleRouteSpecs: readonly RouteSpec[] = [
  {
    method: "GET",
    path: "/console",
    scope: "public",
    tag: "Console",
    summary: "The web console",
    description:
      "A single page that signs in with an API key (kept in the tab's session storage) and calls this API. " +
      "Served with a strict Content-Security-Policy: scripts, styles and API calls to this origin only.",
    responses: { 200: { description: "The console's page.", schema: z.string(), contentType: "text/html" } },
  },
  {
    method: "GET",
    path: "/console/",
    scope: "public",
    tag: "Console",
    summary: "The web console (trailing slash)",
    responses: { 200: { description: "The console's page.", schema: z.string(), contentType: "text/html" } },
  },
  {
    method: "GET",
    path: "/console/{file}",
    scope: "public",
    tag: "Console",
    summary: "One of the console's built files",
    description: "Content-hashed script and style files, cached for good; the page itself is `no-cache`.",
    pathParams: ConsoleFileParamsSchema,
    responses: {
      200: { description: "The file.", schema: z.string(), contentType: "application/octet-stream" },
      ...problemResponses([404]),
    },
  },
  {
    method: "GET",
    path: "/v1/whoami",
    scope: "any-key",
    tag: "API keys",
    summary: "What the calling key is",
    description:
      "Its id, kind, scopes, per-minute limit and tier cap (never the key itself). The console signs in with it.",
    responses: { 200: { description: "The calling key.", schema: component("WhoAmI", WhoAmISchema) } },
  },
];
