import { EDGE_METRICS, ModelgateError, type Scope, scopesAllow, WORKER_CREDENTIAL_PREFIX } from "@modelgate/shared";
import { createMiddleware } from "hono/factory";
import type { AppEnv, EdgeBindings, EdgeConfig, Principal } from "../env.js";
import { resolveStoredKey } from "../keys/stored-key-resolver.js";
import { isolateMetrics } from "../metrics/isolate-metrics.js";
import { workerPoolStub } from "../pool/worker-pool-object.js";

/** Turns a bearer token into a principal. */
export interface PrincipalResolver {
  resolve(token: string, env: EdgeBindings, config: EdgeConfig): Promise<Principal | undefined>;
}

const encoder = new TextEncoder();

const sha256 = (value: string) => crypto.subtle.digest("SHA-256", encoder.encode(value));

/** The configured secrets' digests, computed once per isolate rather than on every request. */
const secretDigests = new WeakMap<EdgeConfig, Promise<{ admin: ArrayBuffer; worker: ArrayBuffer | undefined }>>();

function digestsOf(config: EdgeConfig): Promise<{ admin: ArrayBuffer; worker: ArrayBuffer | undefined }> {
  let digests = secretDigests.get(config);
  if (!digests) {
    // The shared worker token counts only in legacy mode; otherwise it opens nothing.
    const legacyToken = config.MODELGATE_LEGACY_WORKER_TOKEN ? config.MODELGATE_WORKER_TOKEN : undefined;
    digests = Promise.all([
      sha256(config.MODELGATE_ADMIN_KEY),
      legacyToken === undefined ? undefined : sha256(legacyToken),
    ]).then(([admin, worker]) => ({ admin, worker }));
    secretDigests.set(config, digests);
  }
  return digests;
}

function toHex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The admin key (all human scopes) and, in legacy mode only, the shared worker token from the
 * edge's secrets; then an enrolled worker's own credential (`mgw_…`, looked up in the worker
 * pool on every call, so a revocation holds at once); then the stored, scoped API keys. The
 * token is hashed once: equal-length digests compare in constant time, and the same digest is
 * the stored keys' lookup key.
 */
export const defaultPrincipalResolver: PrincipalResolver = {
  async resolve(token, env, config) {
    const [tokenDigest, secrets] = await Promise.all([sha256(token), digestsOf(config)]);
    if (crypto.subtle.timingSafeEqual(tokenDigest, secrets.admin)) {
      return { id: "admin", kind: "admin-key", scopes: ["admin"] };
    }
    if (secrets.worker && crypto.subtle.timingSafeEqual(tokenDigest, secrets.worker)) {
      return { id: "worker-token", kind: "worker-token", scopes: ["worker"] };
    }
    if (token.startsWith(WORKER_CREDENTIAL_PREFIX)) {
      const credentialSha256 = toHex(tokenDigest);
      const identity = await workerPoolStub(env.WORKER_POOL).findCredential(credentialSha256);
      if (!identity) return undefined;
      return {
        id: `worker:${identity.worker_id}`,
        kind: "worker-credential",
        scopes: ["worker"],
        worker: { id: identity.worker_id, urlPattern: identity.url_pattern, credentialSha256 },
      };
    }
    return resolveStoredKey(toHex(tokenDigest), env);
  },
};

/** The bearer token of an `Authorization` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S{1,512})$/i.exec(header) : null;
  return match?.[1];
}

/** Whether the header carries exactly `expected` (compared as digests, in constant time). */
export async function bearerTokenMatches(header: string | undefined, expected: string): Promise<boolean> {
  const token = bearerToken(header);
  if (token === undefined) return false;
  const [given, wanted] = await Promise.all([sha256(token), sha256(expected)]);
  return crypto.subtle.timingSafeEqual(given, wanted);
}

export interface RequireScopeOptions {
  resolver?: PrincipalResolver;
}

/**
 * Every protected route declares the one scope it needs. 401 when no valid key is presented,
 * 403 when the key is valid but lacks the scope.
 */
export function requireScope(scope: Scope, options: RequireScopeOptions = {}) {
  return requirePrincipal(scope, options);
}

/** Any valid key, whatever its scopes (`GET /v1/whoami`: a key may ask what it is). */
export function requireAnyKey(options: RequireScopeOptions = {}) {
  return requirePrincipal(undefined, options);
}

function requirePrincipal(scope: Scope | undefined, options: RequireScopeOptions) {
  const resolver = options.resolver ?? defaultPrincipalResolver;
  return createMiddleware<AppEnv>(async function requireScopeMiddleware(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) {
      throw new ModelgateError("unauthorized", "Send an API key as `Authorization: Bearer <key>`.");
    }
    const principal = await resolver.resolve(token, c.env, c.get("config"));
    if (!principal) {
      throw new ModelgateError("unauthorized", "The API key is not valid.");
    }
    if (scope !== undefined && !scopesAllow(principal.scopes, scope)) {
      throw new ModelgateError("forbidden", `This key lacks the \`${scope}\` scope.`);
    }
    if (principal.rpm !== undefined) {
      const limiter = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(principal.id));
      const decision = await limiter.take(principal.rpm);
      if (!decision.allowed) {
        if (c.get("config").MODELGATE_METRICS) isolateMetrics.count(EDGE_METRICS.rateLimited, { key_id: principal.id });
        throw new ModelgateError(
          "rate_limited",
          `This key is limited to ${principal.rpm} requests per minute.`,
          undefined,
          {
            retryAfterSeconds: decision.retryAfterSeconds,
          },
        );
      }
    }
    c.set("principal", principal);
    await next();
  });
}
