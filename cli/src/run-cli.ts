import { Command, CommanderError } from "commander";
import { reportFailure } from "./cli-errors.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerEvaluationCommands } from "./commands/evaluations.js";
import { registerHealthCommand } from "./commands/health.js";
import { registerInferenceCommands } from "./commands/inference.js";
import { registerKeyCommands } from "./commands/keys.js";
import { registerModelCommands } from "./commands/models.js";
import { registerStatsCommand } from "./commands/stats.js";
import { registerWorkerCommands } from "./commands/workers.js";
import { DEFAULT_EDGE_URL } from "./connection.js";
import { EXIT_CODES } from "./exit-codes.js";
import { programEpilog } from "./help-text.js";
import { type CliIo, CliSession } from "./session.js";

export type { CliIo } from "./session.js";

function buildProgram(session: CliSession): Command {
  const program = new Command("modelgate")
    .description("Command-line client of a modelgate edge: registry, workers and inference.")
    .option("--url <url>", `edge base URL (env MODELGATE_URL, else the config file's url, else ${DEFAULT_EDGE_URL})`)
    .option(
      "--key <key>",
      "API key sent as a Bearer token (env MODELGATE_KEY, else the config file's key, else .modelgate/admin-key from `npm start`, searched upwards from here)",
    )
    // Tests and embedders capture output; commander must neither write to the process nor exit it.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => session.io.stdout(s),
      writeErr: (s) => session.io.stderr(s),
      // With --json the usage error is reported as a problem object instead (see runCli).
      outputError: (s, write) => {
        if (!session.json) write(s);
      },
    })
    // A trailing hint line would make --json stderr unparseable, so it is shown to humans only.
    .showHelpAfterError(session.json ? false : "(run the command with --help for usage)")
    .configureHelp({ showGlobalOptions: true })
    .hook("preAction", (_program, actionCommand) => {
      session.json = actionCommand.opts<{ json?: boolean }>().json === true;
    });
  registerHealthCommand(program, session);
  registerModelCommands(program, session);
  registerWorkerCommands(program, session);
  registerKeyCommands(program, session);
  registerInferenceCommands(program, session);
  registerEvaluationCommands(program, session);
  registerStatsCommand(program, session);
  registerConfigCommands(program, session);
  // Added on the program only: subcommand help stays short and to the point.
  program.addHelpText("after", programEpilog(program));
  return program;
}

/** Commander reports help and version as "errors" too; only real parse failures are usage errors. */
function exitCodeForCommanderError(error: CommanderError): number {
  if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT_CODES.ok;
  if (error.code === "commander.help") return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
  return EXIT_CODES.usage;
}

/**
 * Runs one `modelgate …` invocation and returns its exit code. It never exits the process or
 * touches process.stdout, so tests call it in-process; bin/ and main.ts wire it to the real ones.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const session = new CliSession(io);
  // Parse errors happen before the preAction hook, so --json is spotted in the raw arguments.
  const endOfOptions = argv.indexOf("--");
  session.json = (endOfOptions === -1 ? argv : argv.slice(0, endOfOptions)).includes("--json");
  const program = buildProgram(session);
  try {
    await program.parseAsync(argv, { from: "user" });
    return session.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      const code = exitCodeForCommanderError(error);
      if (code !== EXIT_CODES.ok && session.json) {
        const detail = error.message.replace(/^error: /, "");
        io.stderr(
          `${JSON.stringify({ type: "https://modelgate.dev/problems/usage", title: "Usage error", code: "usage", detail }, null, 2)}\n`,
        );
      }
      return code;
    }
    return reportFailure(error, {
      json: session.json,
      keySource: session.connection?.keySource,
      debug: Boolean(io.env.MODELGATE_DEBUG),
      stderr: io.stderr,
    });
  }
}
