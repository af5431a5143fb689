import { describe, expect, it } from "vitest";
import {
  admitForward,
  type CircuitState,
  CLOSED_CIRCUIT,
  circuitPosition,
  recordForwardOutcome,
} from "../src/pool/circuit-breaker.js";

const settings = { failureThreshold: 3, cooldownMs: 1000 };

function failTimes(count: number, at: number, from: CircuitState = CLOSED_CIRCUIT): CircuitState {
  let state = from;
  for (let i = 0; i < count; i++) state = recordForwardOutcome(state, false, at, settings);
  return state;
}

describe("circuit breaker", () => {
  it("stays closed below the failure threshold and a success resets the count", () => {
    const twice = failTimes(2, 0);
    expect(circuitPosition(twice, 0, settings)).toBe("closed");
    expect(admitForward(twice, 0, settings).admitted).toBe(true);
    const reset = recordForwardOutcome(twice, true, 0, settings);
    expect(circuitPosition(failTimes(2, 0, reset), 0, settings)).toBe("closed");
  });

  it("opens at the threshold and refuses traffic for the cooldown", () => {
    const open = failTimes(3, 100);
    expect(circuitPosition(open, 100, settings)).toBe("open");
    expect(admitForward(open, 1099, settings).admitted).toBe(false);
  });

  it("lets exactly one probe through once the cooldown has passed", () => {
    const open = failTimes(3, 0);
    const first = admitForward(open, 1000, settings);
    expect(first.admitted).toBe(true);
    expect(circuitPosition(first.state, 1000, settings)).toBe("half-open");
    expect(admitForward(first.state, 1001, settings).admitted).toBe(false);
    // A probe that never reported is replaced after another cooldown.
    expect(admitForward(first.state, 2000, settings).admitted).toBe(true);
  });

  it("closes on a successful probe and reopens on a failed one", () => {
    const probing = admitForward(failTimes(3, 0), 1000, settings).state;
    expect(circuitPosition(recordForwardOutcome(probing, true, 1001, settings), 1001, settings)).toBe("closed");
    const reopened = recordForwardOutcome(probing, false, 1001, settings);
    expect(circuitPosition(reopened, 1500, settings)).toBe("open");
    expect(circuitPosition(reopened, 2001, settings)).toBe("half-open");
  });
});
