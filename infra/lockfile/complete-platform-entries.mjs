// Keeps package-lock.json usable by `npm ci` on this project's machines.
//
// The registry these machines reach does not serve every platform build of a package (e.g.
// @biomejs/cli-darwin-arm64 answers 404), so `npm install` leaves those optional entries out
// of the lockfile, and `npm ci` then refuses the lockfile as "Missing: … from lock file".
// This adds each missing platform package as an optional, platform-restricted entry: npm ci
// accepts the lockfile and skips the package as not for this platform, without fetching it.
//
// Runs as the root `postinstall`, so every `npm install` leaves a lockfile `npm ci` accepts;
// it rewrites nothing when nothing is missing. Plain JavaScript: it must run before anything
// is built.
import { readFileSync, writeFileSync } from "node:fs";

const LOCKFILE = new URL("../../package-lock.json", import.meta.url);

/** Platform of a package from its name, for the packages whose builds are split by platform. */
function platformOf(name) {
  const suffix = name.split("/").pop() ?? name;
  const os = /android/.test(suffix)
    ? "android"
    : /darwin|macos/.test(suffix)
      ? "darwin"
      : /win32|windows/.test(suffix)
        ? "win32"
        : /freebsd/.test(suffix)
          ? "freebsd"
          : /linux/.test(suffix)
            ? "linux"
            : undefined;
  if (!os) return undefined;
  const cpu = /arm64|aarch64/.test(suffix)
    ? "arm64"
    : /(^|-)arm(-|$)/.test(suffix)
      ? "arm"
      : /x64|-64$|amd64/.test(suffix)
        ? "x64"
        : /ia32|x86/.test(suffix)
          ? "ia32"
          : undefined;
  if (!cpu) return undefined;
  const libc = /musl/.test(suffix) ? ["musl"] : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

/** Where npm would look for `dependency` starting from the package at `from` (node resolution). */
function resolvedPath(packages, from, dependency) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ""}node_modules/${dependency}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut === -1 ? "" : base.slice(0, cut);
  }
}

let lock;
try {
  lock = JSON.parse(readFileSync(LOCKFILE, "utf8"));
} catch {
  process.exit(0); // No lockfile yet (or not this project's root): nothing to complete.
}
const packages = lock.packages ?? {};
const added = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const [dependency, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const found = resolvedPath(packages, path, dependency);
    // An exact-version spec must find that version; any other spec is satisfied by any entry.
    if (found && (!/^\d+\.\d+\.\d+/.test(version) || packages[found].version === version)) continue;
    const platform = platformOf(dependency);
    if (!platform) continue;
    // At the top when that place is free; otherwise nested beside the package that wants it,
    // as npm places a second version.
    const target = found ? `${path}/node_modules/${dependency}` : `node_modules/${dependency}`;
    packages[target] = { version, ...platform, dev: entry.dev === true ? true : undefined, optional: true };
    added.push(`${dependency}@${version}`);
  }
}
if (added.length > 0) {
  lock.packages = Object.fromEntries(
    Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
  );
  writeFileSync(LOCKFILE, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(
    `package-lock.json: added ${added.length} platform entries the registry does not serve (${added.join(", ")})`,
  );
}
