import { expect } from "vitest";

/** A JSON request to a running stack's edge with the admin key, as a client sends it. */
export function callEdge(stack: { edgeUrl: string; adminKey: string }, method: string, path: string, body?: unknown) {
  return fetch(`${stack.edgeUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.adminKey}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** The body parsed as JSON, after checking the status (the body is the assertion's message). */
export async function jsonWithStatus(response: Response, status: number): Promise<unknown> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text);
}
