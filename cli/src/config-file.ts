import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { UsageError } from "./cli-errors.js";

/** `~/.config/modelgate/config.json` (or `$MODELGATE_CONFIG`): where the edge is and which key to send. */
export const CliConfigSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://edge.example.com" }).optional(),
  key: z.string().trim().min(1, "must not be empty").optional(),
});
export type CliConfig = z.infer<typeof CliConfigSchema>;

export interface LoadedConfig {
  path: string;
  config: CliConfig;
}

const CONFIG_HINT = 'write it as JSON: { "url": "https://edge.example.com", "key": "mg_…" } (both optional)';

/** `$MODELGATE_CONFIG`, else `$XDG_CONFIG_HOME/modelgate/config.json`, else `~/.config/modelgate/config.json`. */
export function configFilePath(env: Readonly<Record<string, string | undefined>>): {
  path: string | undefined;
  explicit: boolean;
} {
  const explicit = env.MODELGATE_CONFIG?.trim();
  if (explicit) return { path: explicit, explicit: true };
  const xdg = env.XDG_CONFIG_HOME?.trim();
  if (xdg) return { path: join(xdg, "modelgate", "config.json"), explicit: false };
  const home = env.HOME?.trim();
  return { path: home ? join(home, ".config", "modelgate", "config.json") : undefined, explicit: false };
}

/**
 * Reads and validates the config file. The default location is optional; a file named by
 * MODELGATE_CONFIG must exist. Every problem names the file and the field.
 */
export async function loadConfigFile(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): Promise<LoadedConfig | undefined> {
  const { path: given, explicit } = configFilePath(env);
  if (given === undefined) return undefined;
  const path = given.startsWith("/") ? given : join(cwd, given);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = error instanceof Error && "code" in error ? String(error.code) : String(error);
    if (code === "ENOENT" && !explicit) return undefined;
    throw new UsageError(
      `Cannot read the config file ${path} (${code})${explicit ? ", named by MODELGATE_CONFIG" : ""}.`,
      explicit ? "fix MODELGATE_CONFIG or create the file" : "fix the file's permissions or remove it",
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`The config file ${path} is not valid JSON: ${reason}`, CONFIG_HINT);
  }
  const parsed = CliConfigSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.map(String).join(".");
      if (issue.code === "unrecognized_keys") return `unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
      return field ? `field "${field}" ${issue.message}` : issue.message;
    });
    throw new UsageError(`The config file ${path} is invalid: ${problems.join("; ")}.`, CONFIG_HINT);
  }
  return { path, config: parsed.data };
}
