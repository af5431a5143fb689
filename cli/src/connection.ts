import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UsageError } from "./cli-errors.js";

export const DEFAULT_EDGE_URL = "http://127.0.0.1:8787";
/** `npm start` writes the local stack's admin key here (see infra/src/local-stack/local-secrets.ts). */
export const ADMIN_KEY_FILE = join(".modelgate", "admin-key");

export type KeySource = "--key" | "MODELGATE_KEY" | ".modelgate/admin-key";

export interface Connection {
  baseUrl: string;
  key: string | undefined;
  /** Kept so that a 401 can say which key was rejected. */
  keySource: KeySource | undefined;
}

export interface ConnectionFlags {
  url?: string | undefined;
  key?: string | undefined;
}

/** An empty variable (`MODELGATE_KEY= modelgate …`) means "unset", as it does for most tools. */
function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function parseEdgeUrl(raw: string, source: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source} is not a URL: "${raw}".`, "use a base URL such as http://127.0.0.1:8787");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `${source} must be an http(s) URL, got "${raw}".`,
      "use a base URL such as https://edge.example",
    );
  }
  return raw;
}

async function readAdminKeyFile(cwd: string): Promise<string | undefined> {
  const path = join(cwd, ADMIN_KEY_FILE);
  try {
    return nonEmpty(await readFile(path, "utf8"));
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") return undefined;
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`Cannot read ${path}: ${reason}`, "pass --key or set MODELGATE_KEY instead");
  }
}

/** Flags win over the environment; the key file is only the local stack's convenience fallback. */
export async function resolveConnection(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<Connection> {
  const flagUrl = nonEmpty(flags.url);
  const envUrl = nonEmpty(env.MODELGATE_URL);
  const baseUrl =
    flagUrl !== undefined
      ? parseEdgeUrl(flagUrl, "--url")
      : envUrl !== undefined
        ? parseEdgeUrl(envUrl, "MODELGATE_URL")
        : DEFAULT_EDGE_URL;

  const flagKey = nonEmpty(flags.key);
  if (flagKey !== undefined) return { baseUrl, key: flagKey, keySource: "--key" };
  const envKey = nonEmpty(env.MODELGATE_KEY);
  if (envKey !== undefined) return { baseUrl, key: envKey, keySource: "MODELGATE_KEY" };
  const fileKey = await readAdminKeyFile(cwd);
  if (fileKey !== undefined) return { baseUrl, key: fileKey, keySource: ".modelgate/admin-key" };
  return { baseUrl, key: undefined, keySource: undefined };
}
