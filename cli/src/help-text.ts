import type { Command } from "commander";
import { EXIT_CODES_HELP } from "./exit-codes.js";

const EXAMPLES = `Configuration (first found wins):
  url: --url, MODELGATE_URL, "url" in the config file, else http://127.0.0.1:8787 (npm start)
  key: --key, MODELGATE_KEY, "key" in the config file, else .modelgate/admin-key in this or a parent folder
  config file: $MODELGATE_CONFIG, else ~/.config/modelgate/config.json: { "url": "…", "key": "…" }
  modelgate config show   prints what is in use and where it came from

Examples (seed 003's workflow):
  modelgate models upload model.onnx --json > upload.json
  modelgate models register oracle-farore --file registration.json --from-upload upload.json \\
    --display-name "Oracle: Farore Secrets" --base Qwen/Qwen2.5-Coder-1.5B --role general \\
    --location windows=D:/models/oracle-farore --metric val_acc=0.93
  modelgate models info oracle-farore@latest
  modelgate models promote oracle-farore 1 --stage Production --reason "passed gates"
  modelgate models list --role general --stage Production
  modelgate models history oracle-farore
  modelgate models rollout start oracle-farore 2 --steps 10,50,100 --max-error-rate 0.02 --window 300 --wait
  modelgate models deploy oracle-farore@3 --replicas 2 --label gpu=a10 --reason "a10 pool"
  modelgate models test oracle-farore@3 --json   (one smoke request per live replica; exit 6 if one fails)
  modelgate models delete oracle-farore@1 --force --yes
  modelgate generate demo-lm "hello" --max-new-tokens 16 --seed 7
  modelgate predict spirals --data '[[0.5,0.3]]' --json
  modelgate keys create ci-bot --scopes infer --rpm 600 --max-tier tier_1
  modelgate workers enroll gpu-box-1 --url-pattern "https://gpu-box-1.internal:8790" --label gpu=a10
  modelgate workers drain gpu-box-1 --timeout 600   (then restart it; SIGTERM alone drains too)
  modelgate eval run dataset.jsonl --target ref-decoder@1 --target ref-decoder@1:int8
  modelgate eval compare ej_… --a ref-decoder@1 --b ref-decoder@1:int8`;

/** `modelgate models promote <name> <version> [--stage <stage>] …`, from the command itself. */
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
