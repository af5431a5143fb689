import { z } from "zod";

/** What an API key may do. Every route declares the one scope it needs; `admin` implies all. */
export const ScopeSchema = z.enum(["models:read", "models:write", "infer", "admin", "worker"]);
export type Scope = z.infer<typeof ScopeSchema>;

export { scopesAllow } from "./scope-rules.js";
