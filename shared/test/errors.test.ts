import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ERROR_CODES,
  ERROR_TITLES,
  type ErrorCode,
  err,
  fieldProblemsFromZod,
  ModelgateError,
  ok,
  ProblemDetailsSchema,
  validationError,
} from "../src/errors.js";

const ArtifactLike = z.strictObject({
  artifact: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/, "bad sha"), bytes: z.int().min(1) }),
  tags: z.array(z.string()),
});

function zodErrorOf(schema: z.ZodType, value: unknown): z.ZodError {
  const result = schema.safeParse(value);
  if (result.success) throw new Error("expected the value to fail validation");
  return result.error;
}

describe("ModelgateError", () => {
  it("takes its status from the code map", () => {
    expect(new ModelgateError("not_found", "x").status).toBe(404);
    expect(new ModelgateError("validation_failed", "x").status).toBe(400);
    expect(new ModelgateError("rate_limited", "x").status).toBe(429);
    expect(new ModelgateError("no_worker_available", "x").status).toBe(503);
    expect(new ModelgateError("upstream_timeout", "x").status).toBe(504);
    expect(new ModelgateError("artifact_integrity_failed", "x").status).toBe(502);
    expect(new ModelgateError("internal", "x").status).toBe(500);
  });

  it("is an Error with a name, message and code", () => {
    const error = new ModelgateError("conflict", "version exists");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ModelgateError");
    expect(error.message).toBe("version exists");
    expect(error.code).toBe("conflict");
    expect(error.fieldErrors).toBeUndefined();
  });

  it("toProblem has the RFC 9457 shape", () => {
    const problem = new ModelgateError("no_worker_available", "no live workers (2 stale)").toProblem("/v1/generate");
    expect(problem).toEqual({
      type: "https://modelgate.dev/problems/no-worker-available",
      title: "No worker available",
      status: 503,
      detail: "no live workers (2 stale)",
      code: "no_worker_available",
      instance: "/v1/generate",
    });
    expect(ProblemDetailsSchema.parse(problem)).toEqual(problem);
  });

  it("toProblem omits instance and errors when absent", () => {
    const problem = new ModelgateError("forbidden", "nope").toProblem();
    expect(problem).not.toHaveProperty("instance");
    expect(problem).not.toHaveProperty("errors");
    expect(problem.type).toBe("https://modelgate.dev/problems/forbidden");
  });

  it("toProblem includes field errors", () => {
    const errors = [{ field: "artifact.sha256", message: "bad sha" }];
    const problem = new ModelgateError("validation_failed", "Invalid body", errors).toProblem();
    expect(problem.errors).toEqual(errors);
    expect(problem.status).toBe(400);
    expect(problem.title).toBe("Request failed validation");
  });

  it("every code has a title and an HTTP error status, and yields a valid problem", () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    expect(Object.keys(ERROR_TITLES).sort()).toEqual([...codes].sort());
    for (const code of codes) {
      const problem = new ModelgateError(code, "detail").toProblem("/x");
      expect(ProblemDetailsSchema.safeParse(problem).success).toBe(true);
      expect(problem.type).toMatch(/^https:\/\/modelgate\.dev\/problems\/[a-z-]+$/);
      expect(problem.title.length).toBeGreaterThan(0);
    }
  });
});

describe("fieldProblemsFromZod", () => {
  it("names dotted paths", () => {
    const error = zodErrorOf(ArtifactLike, { artifact: { sha256: "XYZ", bytes: 1 }, tags: ["a", 2] });
    const problems = fieldProblemsFromZod(error);
    expect(problems.map((p) => p.field).sort()).toEqual(["artifact.sha256", "tags.1"]);
    expect(problems.find((p) => p.field === "artifact.sha256")?.message).toBe("bad sha");
  });

  it("prefixes paths", () => {
    const error = zodErrorOf(ArtifactLike, { artifact: { sha256: "XYZ", bytes: 1 }, tags: [] });
    expect(fieldProblemsFromZod(error, "body").map((p) => p.field)).toEqual(["body.artifact.sha256"]);
  });

  it("uses the prefix alone, or the empty string, for a root-level issue", () => {
    const error = zodErrorOf(ArtifactLike, "not an object");
    expect(fieldProblemsFromZod(error).map((p) => p.field)).toEqual([""]);
    expect(fieldProblemsFromZod(error, "runtime_config").map((p) => p.field)).toEqual(["runtime_config"]);
  });
});

describe("validationError", () => {
  it("builds a validation_failed error that names dotted fields", () => {
    const error = validationError(
      zodErrorOf(ArtifactLike, { artifact: { sha256: "XYZ", bytes: 1 }, tags: [] }),
      "version",
    );
    expect(error).toBeInstanceOf(ModelgateError);
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.message).toBe("Invalid version: artifact.sha256: bad sha");
    expect(error.fieldErrors).toEqual([{ field: "artifact.sha256", message: "bad sha" }]);
  });

  it("applies the prefix to both the fields and the message", () => {
    const error = validationError(
      zodErrorOf(ArtifactLike, { artifact: { sha256: "a".repeat(64), bytes: 0 }, tags: [] }),
      "request",
      "body",
    );
    expect(error.fieldErrors?.map((p) => p.field)).toEqual(["body.artifact.bytes"]);
    expect(error.message).toMatch(/^Invalid request: body\.artifact\.bytes: /);
  });

  it("joins several problems and leaves a root problem unprefixed in the message", () => {
    const several = validationError(
      zodErrorOf(ArtifactLike, { artifact: { sha256: "x", bytes: 0 }, tags: [] }),
      "version",
    );
    expect(several.message.split("; ")).toHaveLength(2);
    const root = validationError(zodErrorOf(ArtifactLike, 42), "body");
    expect(root.message).toMatch(/^Invalid body: [^:]/);
    expect(root.fieldErrors?.[0]?.field).toBe("");
  });
});

describe("ok / err", () => {
  it("build the two Result variants", () => {
    expect(ok(3)).toEqual({ ok: true, value: 3 });
    const error = new ModelgateError("internal", "boom");
    expect(err(error)).toEqual({ ok: false, error });
  });
});
