import { ensureSystemTool, PROMTOOL, SYSTEMD_ANALYZE } from "../../src/tools/ensure-system-tool.js";

/** Installs (as root) or names the Debian packages this project's tests run, once per run. */
export default async function setup(): Promise<void> {
  await ensureSystemTool(PROMTOOL);
  await ensureSystemTool(SYSTEMD_ANALYZE);
}
