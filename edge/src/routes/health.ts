import { Hono } from "hono";
import type { AppEnv } from "../env.js";

/** Liveness for load balancers and `npm start`'s readiness check; open, no key needed. */
export const healthRoutes = new Hono<AppEnv>().get("/health", (c) =>
  c.json({ status: "ok", service: "modelgate-edge", time: new Date().toISOString() }),
);
