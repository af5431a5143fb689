import type { Command } from "commander";
import { formatTimestamp } from "../output.js";
import type { CliSession } from "../session.js";

/** `modelgate health`: the open liveness route, the quickest check that the URL is right. */
export function registerHealthCommand(program: Command, session: CliSession): void {
  program
    .command("health")
    .description("check that the edge is up (needs no key)")
    .option("--json", "print the raw JSON response")
    .action(async (_options: { json?: boolean }, command: Command) => {
      const client = await session.client(command);
      const health = await client.health();
      session.emit(
        health,
        (h) => `${h.service} ${h.status} at ${client.baseUrl} (edge time ${formatTimestamp(h.time)})`,
      );
    });
}
