import type { Command } from "commander";
import { type Connection, resolveConnection } from "./connection.js";
import { EdgeClient } from "./edge-client.js";
import { formatJson } from "./output.js";

/** Everything the CLI touches outside itself, passed in so tests can run it in-process. */
export interface CliIo {
  env: Record<string, string | undefined>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  cwd: string;
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
  connection: Connection | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  /** Resolved lazily: `--help` and usage errors need no key file or URL. */
  async client(command: Command): Promise<EdgeClient> {
    const globals = command.optsWithGlobals<GlobalOptions>();
    this.connection = await resolveConnection(globals, this.io.env, this.io.cwd);
    return new EdgeClient({ baseUrl: this.connection.baseUrl, key: this.connection.key });
  }

  /** Prints `value` as JSON with --json, otherwise the human rendering of it. */
  emit<T>(value: T, human: (value: T) => string): void {
    this.print(this.json ? formatJson(value) : human(value));
  }

  print(text: string): void {
    this.io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** Run details (worker, timings) go to stderr so that stdout pipes only the result. */
  note(text: string): void {
    if (!this.json) this.io.stderr(`${text}\n`);
  }
}
