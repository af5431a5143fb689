import { type ApiKeyView, CawsTierSchema, ScopeSchema } from "@modelgate/shared";
import { type Command, InvalidArgumentError } from "commander";
import { integerInRange } from "../arguments.js";
import type { CreatedApiKey } from "../edge-client.js";
import { formatFields, formatTable, formatTimestamp, NONE } from "../output.js";
import type { CliSession } from "../session.js";

function parseScopes(value: string): string[] {
  const scopes = value.split(",").map((s) => s.trim());
  for (const scope of scopes) {
    if (!ScopeSchema.safeParse(scope).success) {
      throw new InvalidArgumentError(
        `unknown scope "${scope}"; use ${ScopeSchema.options.join(", ")} (comma-separated)`,
      );
    }
  }
  return scopes;
}

function parseTier(value: string): string {
  if (!CawsTierSchema.safeParse(value).success)
    throw new InvalidArgumentError(`expected ${CawsTierSchema.options.join(", ")}`);
  return value;
}

function keyState(key: ApiKeyView, now: number): string {
  if (key.revoked_at !== undefined) return "revoked";
  if (key.expires_at !== undefined && Date.parse(key.expires_at) <= now) return "expired";
  return "active";
}

export function formatKeyList(keys: readonly ApiKeyView[], now: number = Date.now()): string {
  if (keys.length === 0) return "No API keys yet. Create one with `modelgate keys create <name> --scopes infer`.";
  return formatTable(
    ["ID", "NAME", "PREFIX", "SCOPES", "STATE", "RPM", "MAX TIER", "EXPIRES", "CREATED"],
    keys.map((key) => [
      key.id,
      key.name,
      `${key.prefix}…`,
      key.scopes.join(","),
      keyState(key, now),
      key.rpm === undefined ? NONE : String(key.rpm),
      key.max_tier ?? NONE,
      key.expires_at === undefined ? NONE : formatTimestamp(key.expires_at),
      formatTimestamp(key.created_at),
    ]),
  );
}

/** The secret is printed once, with a warning, because the edge keeps only its hash. */
function formatCreatedKey(created: CreatedApiKey): string {
  return [
    formatFields([
      ["id", created.id],
      ["name", created.name],
      ["scopes", created.scopes.join(",")],
      ...(created.rotated_from === undefined ? [] : ([["replaces", created.rotated_from]] as const)),
    ]),
    "",
    `key: ${created.key}`,
    "Store it now: it is not shown again (the edge keeps only its hash).",
  ].join("\n");
}

interface CreateOptions {
  scopes: string[];
  expiresAt?: string;
  rpm?: number;
  maxTier?: string;
  json?: boolean;
}

/** `modelgate keys create|list|revoke|rotate` (admin scope). */
export function registerKeyCommands(program: Command, session: CliSession): void {
  const keys = program.command("keys").description("API keys: create, list, revoke, rotate (admin scope)");
  keys
    .command("create <name>")
    .description("create a key; its secret is printed once")
    .requiredOption("--scopes <list>", "comma-separated: models:read,models:write,infer,admin,worker", parseScopes)
    .option("--expires-at <iso>", "expiry as an ISO 8601 date-time")
    .option("--rpm <n>", "requests per minute for this key", integerInRange(1, 1_000_000))
    .option("--max-tier <tier>", "strictest CAWS tier for its inference (tier_1, tier_2, tier_3)", parseTier)
    .option("--json", "print the raw JSON response")
    .action(async (name: string, options: CreateOptions, command: Command) => {
      const client = await session.client(command);
      const created = await client.createKey({
        name,
        scopes: options.scopes as CreatedApiKey["scopes"],
        ...(options.expiresAt === undefined ? {} : { expires_at: options.expiresAt }),
        ...(options.rpm === undefined ? {} : { rpm: options.rpm }),
        ...(options.maxTier === undefined ? {} : { max_tier: options.maxTier as CreatedApiKey["max_tier"] }),
      });
      session.emit(created, formatCreatedKey);
    });
  keys
    .command("list")
    .description("list keys (prefixes and settings, never secrets)")
    .option("--json", "print the raw JSON response")
    .action(async (_options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.listKeys(), (list) => formatKeyList(list));
    });
  keys
    .command("revoke <id>")
    .description("revoke a key; it stops working within seconds everywhere")
    .option("--json", "print the raw JSON response")
    .action(async (id: string, _options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.revokeKey(id), (key) => `revoked ${key.id} (${key.name}) at ${key.revoked_at ?? NONE}`);
    });
  keys
    .command("rotate <id>")
    .description("replace a key with a new secret and the same settings; the old one is revoked")
    .option("--json", "print the raw JSON response")
    .action(async (id: string, _options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      session.emit(await client.rotateKey(id), formatCreatedKey);
    });
}
