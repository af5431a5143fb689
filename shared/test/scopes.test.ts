import { describe, expect, it } from "vitest";
import { type Scope, ScopeSchema, scopesAllow } from "../src/scopes.js";

const ALL_SCOPES: readonly Scope[] = ScopeSchema.options;

describe("scopesAllow", () => {
  it("allows a scope that was granted", () => {
    for (const scope of ALL_SCOPES) expect(scopesAllow([scope], scope)).toBe(true);
  });

  it("denies everything when nothing is granted", () => {
    for (const scope of ALL_SCOPES) expect(scopesAllow([], scope)).toBe(false);
  });

  it("admin implies every scope except worker", () => {
    for (const scope of ALL_SCOPES) {
      expect(scopesAllow(["admin"], scope)).toBe(scope !== "worker");
    }
  });

  it("worker must be granted explicitly, even alongside admin", () => {
    expect(scopesAllow(["admin", "models:write"], "worker")).toBe(false);
    expect(scopesAllow(["admin", "worker"], "worker")).toBe(true);
  });

  it("non-admin scopes do not imply each other", () => {
    expect(scopesAllow(["models:read"], "models:write")).toBe(false);
    expect(scopesAllow(["models:write"], "models:read")).toBe(false);
    expect(scopesAllow(["infer"], "models:read")).toBe(false);
    expect(scopesAllow(["worker"], "infer")).toBe(false);
    expect(scopesAllow(["models:read", "models:write", "infer", "worker"], "admin")).toBe(false);
  });

  it("the scope list is the five documented scopes", () => {
    expect([...ALL_SCOPES].sort()).toEqual(["admin", "infer", "models:read", "models:write", "worker"]);
  });
});
