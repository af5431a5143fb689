import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./cli-errors.js";
import { loadConfigFile } from "./config-file.js";

/** `npm start`'s edge port (MODELGATE_EDGE_PORT, see infra/src/start-local-stack.ts). */
export const DEFAULT_EDGE_PORT = 8787;
export const DEFAULT_EDGE_URL = `http://127.0.0.1:${DEFAULT_EDGE_PORT}`;
/** `npm start` writes the local stack's admin key here (see infra/src/local-stack/local-secrets.ts). */
export const ADMIN_KEY_FILE = join(".modelgate", "admin-key");

/** Where a setting came from: `--key`, `MODELGATE_KEY`, a config or key file path, or `default`. */
export type SettingSource = string;
export type KeySource = SettingSource;

export interface Connection {
  baseUrl: string;
  urlSource: SettingSource;
  key: string | undefined;
  /** Kept so that a 401 can say which key was rejected. */
  keySource: KeySource | undefined;
  /** The config file that was read, if any. */
  configPath: string | undefined;
}

export interface ConnectionFlags {
  url?: string | undefined;
  key?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

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

async function readKeyFile(path: string): Promise<string | undefined> {
  try {
    return nonEmpty(await readFile(path, "utf8"));
  } catch (error) {
    if (error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR")) {
      return undefined;
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`Cannot read ${path}: ${reason}`, "pass --key or set MODELGATE_KEY instead");
  }
}

/**
 * The local stack's admin key: `$MODELGATE_DATA_DIR/admin-key` when that is set, else
 * `.modelgate/admin-key` in the working directory or the nearest parent that has one, so
 * the CLI works from any folder of the checkout.
 */
async function findAdminKeyFile(cwd: string, env: Env): Promise<{ path: string; key: string } | undefined> {
  const dataDir = nonEmpty(env.MODELGATE_DATA_DIR);
  if (dataDir !== undefined) {
    const path = join(resolve(cwd, dataDir), "admin-key");
    const key = await readKeyFile(path);
    return key === undefined ? undefined : { path, key };
  }
  let directory = resolve(cwd);
  for (;;) {
    const path = join(directory, ADMIN_KEY_FILE);
    const key = await readKeyFile(path);
    if (key !== undefined) return { path, key };
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/**
 * Flags win over the environment, the environment over the config file; the admin key file
 * (with the local default URL) is only the local stack's convenience fallback.
 */
export async function resolveConnection(flags: ConnectionFlags, env: Env, cwd: string): Promise<Connection> {
  const loaded = await loadConfigFile(env, cwd);
  const configPath = loaded?.path;
  const flagUrl = nonEmpty(flags.url);
  const envUrl = nonEmpty(env.MODELGATE_URL);
  const fileUrl = loaded?.config.url;
  let baseUrl = DEFAULT_EDGE_URL;
  let urlSource: SettingSource = "default";
  if (flagUrl !== undefined) {
    baseUrl = parseEdgeUrl(flagUrl, "--url");
    urlSource = "--url";
  } else if (envUrl !== undefined) {
    baseUrl = parseEdgeUrl(envUrl, "MODELGATE_URL");
    urlSource = "MODELGATE_URL";
  } else if (fileUrl !== undefined && configPath !== undefined) {
    baseUrl = fileUrl;
    urlSource = configPath;
  }
  const base = { baseUrl, urlSource, configPath };

  const flagKey = nonEmpty(flags.key);
  if (flagKey !== undefined) return { ...base, key: flagKey, keySource: "--key" };
  const envKey = nonEmpty(env.MODELGATE_KEY);
  if (envKey !== undefined) return { ...base, key: envKey, keySource: "MODELGATE_KEY" };
  if (loaded?.config.key !== undefined) return { ...base, key: loaded.config.key, keySource: loaded.path };
  const adminKey = await findAdminKeyFile(cwd, env);
  if (adminKey !== undefined) return { ...base, key: adminKey.key, keySource: adminKey.path };
  return { ...base, key: undefined, keySource: undefined };
}

/** The edge lists keys by their first 12 characters (`keys list` PREFIX); show no more than that. */
export const KEY_PREFIX_LENGTH = 12;

export function maskKey(key: string): string {
  return `${key.slice(0, Math.min(KEY_PREFIX_LENGTH, Math.floor(key.length / 2)))}…`;
}
