import { z } from "zod";

/** What an API key may do. Every route declares the one scope it needs; `admin` implies all. */
export const ScopeSchema = z.enum(["models:read", "models:write", "infer", "admin", "worker"]);
export type Scope = z.infer<typeof ScopeSchema>;

export function scopesAllow(granted: readonly Scope[], required: Scope): boolean {
  if (granted.includes(required)) return true;
  // `worker` is a machine identity, not a human one: admin keys do not send heartbeats.
  return required !== "worker" && granted.includes("admin");
}
