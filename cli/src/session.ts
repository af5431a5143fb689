import type { Command } from "commander";
import { UsageError } from "./cli-errors.js";
import { type Connection, resolveConnection } from "./connection.js";
import { EdgeClient, rawBodyOf } from "./edge-client.js";
import { EXIT_CODES, type ExitCode } from "./exit-codes.js";
import { formatJson } from "./output.js";

/** Everything the CLI touches outside itself, passed in so tests can run it in-process. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
  /** Whether stderr is a terminal (progress bars redraw in place there); false when absent. */
  stderrIsTTY?: boolean;
  /** Whether stdin is a terminal a person can answer questions on; false when absent. */
  stdinIsTTY?: boolean;
  /** Asks a question on the terminal and resolves with the answer (needed with stdinIsTTY). */
  prompt?: (question: string) => Promise<string>;
}

/** Global options, declared on the program and read from any subcommand. */
interface GlobalOptions {
  url?: string;
  key?: string;
}

/** One invocation's state: where output goes, whether it is JSON, and how the edge was reached. */
export class CliSession {
  readonly io: CliIo;
  /** Set before the action runs, so a failure is reported in the same format as success. */
  json = false;
  /** Set by a command whose output is complete but whose outcome failed (a replica test that found a broken worker). */
  exitCode: ExitCode = EXIT_CODES.ok;
  connection: Connection | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  /** Where the edge is and which key to send (flags, env, config file, local admin key). */
  async resolveConnection(command: Command): Promise<Connection> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    this.connection = await resolveConnection(globals, this.io.env, this.io.cwd);
    return this.connection;
  }

  /** Resolved lazily: `--help` and usage errors need no key file or URL. */
  async client(command: Command): Promise<EdgeClient> {
    const connection = await this.resolveConnection(command);
    return new EdgeClient({ baseUrl: connection.baseUrl, key: connection.key });
  }

  /**
   * Prints `value` with --json (the edge's body exactly as received when `value` came from
   * the EdgeClient), otherwise the human rendering of it.
   */
  emit<T>(value: T, human: (value: T) => string): void {
    if (this.json) {
      const raw = rawBodyOf(value);
      this.print(formatJson(raw === undefined ? value : raw));
    } else {
      this.print(human(value));
    }
  }

  print(text: string): void {
    this.io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Run details (worker, timings) go to stderr so that stdout pipes only the result. */
  note(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }

  /**
   * Asks before something irreversible. Without a terminal nobody can answer, so the command
   * stops with a usage error unless `--yes` said so up front.
   */
  async confirm(question: string, yes: boolean | undefined): Promise<void> {
    if (yes === true) return;
    if (this.io.stdinIsTTY !== true || this.io.prompt === undefined) {
      throw new UsageError(
        `Refusing to ${question} without confirmation: stdin is not a terminal.`,
        "pass --yes to confirm in scripts",
      );
    }
    const answer = (await this.io.prompt(`${question}? Type "yes" to confirm: `)).trim().toLowerCase();
    if (answer !== "yes" && answer !== "y") {
      throw new UsageError("Not confirmed; nothing was changed.", "answer yes, or pass --yes");
    }
  }
}
