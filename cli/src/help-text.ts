import type { Command } from "commander";
import { EXIT_CODES_HELP } from "./exit-codes.js";

const EXAMPLES = `Examples:
  modelgate health
  modelgate models list
  modelgate models promote demo-lm --version 2 --stage Production --reason "passed gates"
  modelgate generate demo-lm "hello" --max-new-tokens 16 --seed 7
  modelgate predict spirals --data '[[0.5,0.3]]' --json
  modelgate keys create ci-bot --scopes infer --rpm 600 --max-tier tier_1`;

/** `modelgate models promote <name> --version <n> [--stage <stage>] …`, from the command itself. */
function synopsis(command: Command, path: string): string {
  const args = command.registeredArguments.map((arg) => (arg.required ? `<${arg.name()}>` : `[${arg.name()}]`));
  const options = command.options
    .filter((option) => option.long !== undefined && option.long !== "--json" && !option.hidden)
    .map((option) => (option.mandatory ? option.flags : `[${option.flags}]`));
  return [path, ...args, ...options].join(" ");
}

function leafCommands(command: Command, path: string): string[] {
  return command.commands
    .filter((sub) => sub.name() !== "help")
    .flatMap((sub) => {
      const subPath = `${path} ${sub.name()}`;
      return sub.commands.length > 0 ? leafCommands(sub, subPath) : [`  ${synopsis(sub, subPath)}`];
    });
}

/**
 * The top-level help lists every runnable command with its flags (commander shows only the
 * first level), then the exit codes scripts can rely on. Built from the command tree, so it
 * cannot fall out of date.
 */
export function programEpilog(program: Command): string {
  const commands = leafCommands(program, program.name()).join("\n");
  return `\nAll commands (each also takes --json, --url and --key):\n${commands}\n\n${EXIT_CODES_HELP}\n\n${EXAMPLES}\n`;
}
