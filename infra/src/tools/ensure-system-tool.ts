/**
 * Outside programs the tests need and only Debian ships (promtool and prometheus from the
 * `prometheus` package, systemd-analyze from `systemd`, chromium from `chromium`). `npm test` must stay the whole set-up:
 * when a program is missing and the tests run as root (CI, on a fresh machine) it is installed
 * with apt-get; otherwise the run fails naming the package to install. Never a silent skip.
 */
import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface SystemTool {
  /** The executable, looked up on PATH (and /usr/bin, /usr/sbin). */
  command: string;
  /** The Debian package that provides it. */
  debianPackage: string;
}

export const PROMTOOL: SystemTool = { command: "promtool", debianPackage: "prometheus" };
export const PROMETHEUS: SystemTool = { command: "prometheus", debianPackage: "prometheus" };
export const SYSTEMD_ANALYZE: SystemTool = { command: "systemd-analyze", debianPackage: "systemd" };
/** Headless browser tests drive Debian's Chromium (playwright-core never downloads a browser). */
export const CHROMIUM: SystemTool = { command: "chromium", debianPackage: "chromium" };

/** The executable's full path, or undefined when it is not installed. */
export async function findExecutable(command: string, path = process.env.PATH ?? ""): Promise<string | undefined> {
  const folders = [...path.split(delimiter).filter(Boolean), "/usr/bin", "/usr/sbin", "/bin", "/sbin"];
  for (const folder of folders) {
    const candidate = join(folder, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
// Two test projects may ask at once: wait for the other's dpkg lock instead of failing.
const APT_LOCK = ["-o", "DPkg::Lock::Timeout=300"];

async function aptInstall(debianPackage: string): Promise<void> {
  const install = () =>
    run("apt-get", [...APT_LOCK, "install", "-y", "--no-install-recommends", debianPackage], {
      env: APT_ENV,
      maxBuffer: 16 * 1024 * 1024,
    });
  try {
    await install();
  } catch {
    // A fresh machine may have no package lists yet.
    await run("apt-get", [...APT_LOCK, "update"], { env: APT_ENV, maxBuffer: 16 * 1024 * 1024 });
    await install();
  }
}

/** The tool's path; installs its Debian package first when missing and running as root. */
export async function ensureSystemTool(tool: SystemTool): Promise<string> {
  const found = await findExecutable(tool.command);
  if (found) return found;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    throw new Error(
      `${tool.command} is not installed. Install Debian's ${tool.debianPackage} package ` +
        `(sudo apt-get install ${tool.debianPackage}), or run the tests as root so that they install it.`,
    );
  }
  try {
    await aptInstall(tool.debianPackage);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${tool.command} is missing and apt-get could not install ${tool.debianPackage}: ${reason}`);
  }
  const installed = await findExecutable(tool.command);
  if (!installed) throw new Error(`apt-get installed ${tool.debianPackage}, but ${tool.command} is still not on PATH`);
  return installed;
}
