import type { Command } from "commander";
import { configFilePath } from "../config-file.js";
import { maskKey } from "../connection.js";
import { formatFields, NONE } from "../output.js";
import type { CliSession } from "../session.js";

/** `modelgate config show`: which edge and key a command would use, and where each came from. */
export function registerConfigCommands(program: Command, session: CliSession): void {
  const config = program.command("config").description("the CLI's own settings");
  config
    .command("show")
    .description("print the edge URL and key in use and where each came from (the key masked)")
    .option("--json", "print as JSON")
    .action(async (_options: { json?: boolean }, command: Command) => {
      const connection = await session.resolveConnection(command);
      const { path } = configFilePath(session.io.env);
      const shown = {
        url: connection.baseUrl,
        url_source: connection.urlSource,
        key: connection.key === undefined ? null : maskKey(connection.key),
        key_source: connection.keySource ?? null,
        config_file: connection.configPath ?? null,
        config_file_searched: path ?? null,
      };
      session.emit(shown, (s) =>
        formatFields([
          ["url", `${s.url}  (from ${s.url_source})`],
          [
            "key",
            s.key === null
              ? `${NONE}  (none found: pass --key, set MODELGATE_KEY or add "key" to the config file)`
              : `${s.key}  (from ${s.key_source})`,
          ],
          [
            "config",
            s.config_file ??
              `${NONE}  (looked for ${s.config_file_searched ?? "$MODELGATE_CONFIG or ~/.config/modelgate/config.json"})`,
          ],
        ]),
      );
    });
}
