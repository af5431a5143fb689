/** Calls a worker the way the edge does: JSON body, HMAC-signed with shared `signRequest`. */
import { randomNonce, signRequest } from "@modelgate/shared";

export const TEST_SIGNING_SECRET = "test-signing-secret-0123456789";
/** The id the test workers run as (test-worker.ts); the edge signs every call for one worker id. */
export const TEST_WORKER_ID = "test-worker";

export interface SignedFetchOptions {
  secret?: string;
  /** Signature timestamp (ms); defaults to now. */
  now?: number;
  nonce?: string;
  /** Send these bytes instead of the ones that were signed (a tampering man in the middle). */
  sendInstead?: string;
  /** The worker the request is signed for (default: the test worker). */
  workerId?: string;
  /** Omit the signature headers entirely. */
  unsigned?: boolean;
  signal?: AbortSignal;
  /** More headers, e.g. the `x-request-id` the edge forwards. */
  headers?: Record<string, string>;
}

export async function signedPost(
  baseUrl: string,
  path: string,
  body: unknown,
  options: SignedFetchOptions = {},
): Promise<Response> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const headers = options.unsigned
    ? {}
    : await signRequest(
        options.secret ?? TEST_SIGNING_SECRET,
        { method: "POST", pathWithQuery: path, body: text, workerId: options.workerId ?? TEST_WORKER_ID },
        options.now ?? Date.now(),
        options.nonce ?? randomNonce(),
      );
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...options.headers, ...headers },
    body: options.sendInstead ?? text,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** Headers that make a problem+json assertion readable. */
export async function problemOf(
  response: Response,
): Promise<{ status: number; contentType: string | null; body: Record<string, unknown> }> {
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: (await response.json()) as Record<string, unknown>,
  };
}
