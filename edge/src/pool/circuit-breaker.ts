/**
 * A per-worker circuit breaker (the pattern Portkey's gateway keeps in Durable Objects):
 * consecutive failed forwards open the circuit, so routing stops sending a failing worker
 * traffic; after a cooldown one probe request may go through (half-open); its success closes
 * the circuit, its failure opens it again. Pure: the pool Durable Object holds the states.
 */

export interface CircuitSettings {
  /** Consecutive failures (connect errors, timeouts, 5xx) that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses traffic before it lets one probe through. */
  cooldownMs: number;
}

export const DEFAULT_CIRCUIT_SETTINGS: CircuitSettings = { failureThreshold: 3, cooldownMs: 10_000 };

export interface CircuitState {
  consecutiveFailures: number;
  /** When the circuit (last) opened; null while closed. */
  openedAt: number | null;
  /** When a half-open probe was handed out; a probe that never reports expires after a cooldown. */
  probeSince: number | null;
}

export type CircuitPosition = "closed" | "open" | "half-open";

export const CLOSED_CIRCUIT: CircuitState = { consecutiveFailures: 0, openedAt: null, probeSince: null };

export function circuitPosition(
  state: CircuitState,
  now: number,
  settings = DEFAULT_CIRCUIT_SETTINGS,
): CircuitPosition {
  if (state.openedAt === null) return "closed";
  return now - state.openedAt >= settings.cooldownMs ? "half-open" : "open";
}

/** The state after one forward to the worker succeeded (any answer below 500) or failed. */
export function recordForwardOutcome(
  state: CircuitState,
  succeeded: boolean,
  now: number,
  settings = DEFAULT_CIRCUIT_SETTINGS,
): CircuitState {
  if (succeeded) return CLOSED_CIRCUIT;
  const consecutiveFailures = state.consecutiveFailures + 1;
  // A failed probe, or the threshold reached, (re)opens the circuit from now.
  const opens = state.openedAt !== null || consecutiveFailures >= settings.failureThreshold;
  return { consecutiveFailures, openedAt: opens ? now : null, probeSince: null };
}

/**
 * Whether a forward may go to the worker now: always when closed, never when open, and in
 * half-open only as the one probe (a stale, unreported probe is replaced after a cooldown).
 * Returns the state to keep when the forward is allowed.
 */
export function admitForward(
  state: CircuitState,
  now: number,
  settings = DEFAULT_CIRCUIT_SETTINGS,
): { admitted: boolean; state: CircuitState } {
  const position = circuitPosition(state, now, settings);
  if (position === "closed") return { admitted: true, state };
  if (position === "open") return { admitted: false, state };
  if (state.probeSince !== null && now - state.probeSince < settings.cooldownMs) return { admitted: false, state };
  return { admitted: true, state: { ...state, probeSince: now } };
}
