import { runCli } from "./run-cli.js";

// exitCode rather than process.exit(): a piped stdout gets flushed before the process ends.
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  cwd: process.cwd(),
});
