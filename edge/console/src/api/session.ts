/**
 * Who is signed in: an API key kept in this tab's session storage only (closing the tab signs
 * out; nothing is written to disk or sent anywhere but this edge), and what `GET /v1/whoami`
 * said it may do. Views ask `can(scope)` before they show a page or a write button; the API
 * refuses anyway.
 */
import type { Scope, WhoAmI } from "@modelgate/shared";
import { scopesAllow } from "@modelgate/shared/scope-rules";
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { ApiClient } from "./client.js";

const STORAGE_KEY = "modelgate.console.key";

export interface Session {
  api: ApiClient;
  who: WhoAmI;
  can(scope: Scope): boolean;
  signOut(): void;
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function rememberKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Checks a key with the edge; an ApiError (401 and its detail) when it is not valid. */
export async function openSession(key: string, signOut: () => void): Promise<Session> {
  const api = new ApiClient(key);
  const who = await api.get<WhoAmI>("/v1/whoami");
  return { api, who, can: (scope) => scopesAllow(who.scopes, scope), signOut };
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in console");
  return session;
}
