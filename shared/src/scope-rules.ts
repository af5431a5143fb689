/**
 * Which scope a key's scopes allow, without zod: the console (a browser bundle) imports this
 * file alone (`@modelgate/shared/scope-rules`) to hide what a key may not do.
 */
import type { Scope } from "./scopes.js";

export function scopesAllow(granted: readonly Scope[], required: Scope): boolean {
  if (granted.includes(required)) return true;
  // `worker` is a machine identity, not a human one: admin keys do not send heartbeats.
  return required !== "worker" && granted.includes("admin");
}
