/** `GET /v1/whoami`: any valid key may ask what it is (the console signs in with it). */
import type { WhoAmI } from "@modelgate/shared";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { requireAnyKey } from "../middleware/authenticate.js";

export const whoamiRoutes = new Hono<AppEnv>().get("/v1/whoami", requireAnyKey(), (c) => {
  const principal = c.get("principal");
  const answer: WhoAmI = {
    id: principal.id,
    kind: principal.kind,
    scopes: [...principal.scopes],
    rpm: principal.rpm ?? null,
    max_tier: principal.maxTier ?? null,
  };
  return c.json(answer);
});
