/**
 * The deploy files are checked with the tools that read them, without running them (this
 * machine has no Docker engine, no GPU and no systemd as PID 1): the Dockerfile with the
 * dockerfile-utils linter, the compose file and env examples with a YAML parser and the worker's
 * own list of variables, the systemd unit with `systemd-analyze verify` and `security`. Each
 * check has a negative control, so a check that could never fail would be noticed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { RUNTIME_CONFIG_ENV_VARS } from "@modelgate/shared";
import { ValidationSeverity, type ValidatorSettings, validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { ensureSystemTool, SYSTEMD_ANALYZE } from "../src/tools/ensure-system-tool.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DOCKER_DIR = join(REPO_ROOT, "infra/docker");
const DOCKERFILE = join(DOCKER_DIR, "gpu-worker.Dockerfile");
const COMPOSE_FILE = join(DOCKER_DIR, "docker-compose.deploy.yml");
const UNIT_FILE = join(REPO_ROOT, "infra/systemd/modelgate-gpu-worker.service");

const read = (path: string) => readFile(path, "utf8");

// ─── The worker's variables ───────────────────────────────────────────────────────────────────

/**
 * The names gpu-worker/src/config.ts validates: the keys of its (unexported) WorkerEnvSchema,
 * read from the source text, plus seed 000's runtime variables it reads through shared.
 */
async function workerVariableNames(): Promise<Set<string>> {
  const source = await read(join(REPO_ROOT, "gpu-worker/src/config.ts"));
  const start = source.indexOf("const WorkerEnvSchema = z.object({");
  const end = source.indexOf("\n});", start);
  if (start === -1 || end === -1) throw new Error("WorkerEnvSchema not found in gpu-worker/src/config.ts");
  const keys = [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] ?? "");
  return new Set([...keys, ...Object.keys(RUNTIME_CONFIG_ENV_VARS)]);
}

const REQUIRED_WORKER_VARIABLES = ["MODELGATE_EDGE_URL", "MODELGATE_SIGNING_SECRET", "S3_BUCKET"];

/** `NAME=value` lines of an env file (comments and blank lines skipped). */
function envFileEntries(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) entries.set(match[1], match[2] ?? "");
  }
  return entries;
}

// ─── Dockerfile ───────────────────────────────────────────────────────────────────────────────

/** Every optional rule of the linter raised to an error: nothing is accepted silently. */
const STRICT_DOCKERFILE_RULES: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

interface DockerInstruction {
  keyword: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): DockerInstruction[] {
  const instructions: DockerInstruction[] = [];
  let pending = "";
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*#/.test(line)) continue;
    const continued = line.endsWith("\\");
    pending += `${continued ? line.slice(0, -1) : line} `;
    if (continued) continue;
    const match = /^\s*([A-Za-z]+)\s+(.*?)\s*$/.exec(pending);
    if (match?.[1] && match[2] !== undefined) instructions.push({ keyword: match[1].toUpperCase(), args: match[2] });
    pending = "";
  }
  return instructions;
}

/** Minimal .dockerignore matching: `*`, `?` and `**` globs, a pattern also excluding what is under it. */
function dockerignoreExcludes(patterns: readonly string[], path: string): boolean {
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, "");
    const source = pattern
      .split("/")
      .map((part) =>
        part === "**"
          ? ".*"
          : part
              .replace(/[.+^${}()|[\]\\]/g, "\\$&")
              .replace(/\*/g, "[^/]*")
              .replace(/\?/g, "[^/]"),
      )
      .join("/")
      .replace(/\.\*\//g, "(?:.*/)?");
    if (new RegExp(`^${source}(?:/.*)?$`).test(path)) excluded = !negated;
  }
  return excluded;
}

describe("infra/docker/gpu-worker.Dockerfile", () => {
  let text = "";
  let instructions: DockerInstruction[] = [];
  beforeAll(async () => {
    text = await read(DOCKERFILE);
    instructions = dockerInstructions(text);
  });
  const all = (keyword: string) => instructions.filter((instruction) => instruction.keyword === keyword);

  it("lints clean with every rule an error", () => {
    expect(validate(text, STRICT_DOCKERFILE_RULES)).toEqual([]);
  });

  it("a broken Dockerfile does not lint clean (negative control)", () => {
    const broken =
      "FROM node:22-bookworm-slim AS a AS b\nrun echo hi\nCOPY onlyone\nEXPOSE notaport\nHEALTHCHECK --interval=abc CMD true\nWORKDIR relative\n";
    const messages = validate(broken, STRICT_DOCKERFILE_RULES).map((diagnostic) => diagnostic.message);
    expect(messages.length).toBeGreaterThanOrEqual(5);
    expect(messages).toContain("Invalid containerPort: notaport");
    expect(messages).toContain("COPY requires at least two arguments");
  });

  it("runs on Node 22 as a non-root user, exposes 8790 and checks /health", () => {
    expect(all("ARG").map((arg) => arg.args)).toContain("NODE_IMAGE=node:22-bookworm-slim");
    expect(all("ARG").map((arg) => arg.args)).toContain("RUNTIME_BASE=node:22-bookworm-slim");
    expect(all("ARG").map((arg) => arg.args)).toContain("ONNXRUNTIME_NODE_INSTALL=skip");
    const users = all("USER").map((user) => user.args);
    expect(users.at(-1)).toBe("modelgate");
    expect(all("EXPOSE").map((expose) => expose.args)).toEqual(["8790"]);
    expect(all("HEALTHCHECK").at(-1)?.args).toContain("http://127.0.0.1:8790/health");
    expect(all("STOPSIGNAL").at(-1)?.args).toBe("SIGTERM");
    // Node itself as the process, so SIGTERM reaches the worker (not npm or a shell).
    expect(JSON.parse(all("CMD").at(-1)?.args ?? "[]")).toEqual(["node", "--import", "tsx", "gpu-worker/src/main.ts"]);
    expect(text).toMatch(/npm ci --omit=dev --workspace gpu-worker --workspace shared/);
  });

  it("gets tsx from the worker's own dependencies, which npm ci --omit=dev keeps", async () => {
    const workerPackage = JSON.parse(await read(join(REPO_ROOT, "gpu-worker", "package.json"))) as {
      dependencies?: Record<string, string>;
    };
    // The main thread runs under `node --import tsx` and the thread bootstraps import tsx/esm/api.
    expect(workerPackage.dependencies?.tsx).toBeDefined();
    expect(text).toMatch(/npm ci --omit=dev --workspace gpu-worker/);
    expect(text).toContain('CMD ["node", "--import", "tsx", "gpu-worker/src/main.ts"]');
  });

  it("copies only paths that exist and that .dockerignore lets through", async () => {
    const ignore = (await read(join(REPO_ROOT, ".dockerignore")))
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
    const sources = all("COPY")
      .filter((copy) => !copy.args.startsWith("--from="))
      .flatMap((copy) => copy.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      expect(dockerignoreExcludes(ignore, source), source).toBe(false);
    }
    for (const secretOrState of ["node_modules", "gpu-worker/node_modules", ".modelgate", ".wrangler", ".git"]) {
      expect(dockerignoreExcludes(ignore, secretOrState), secretOrState).toBe(true);
    }
    for (const envFile of ["infra/docker/deploy.env", "infra/docker/.env", "gpu-worker.env"]) {
      expect(dockerignoreExcludes(ignore, envFile), envFile).toBe(true);
    }
    expect(dockerignoreExcludes(ignore, "infra/docker/deploy.env.example")).toBe(false);
  });

  it("sets only variables the worker reads", async () => {
    const names = await workerVariableNames();
    const set = all("ENV").flatMap((env) =>
      [...env.args.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((match) => match[1] ?? ""),
    );
    expect(set).toEqual(
      expect.arrayContaining(["HOST", "PORT", "MODELGATE_CACHE_DIR", "MODELGATE_EXECUTION_PROVIDERS"]),
    );
    for (const name of set.filter((variable) => variable !== "NODE_ENV")) expect(names.has(name), name).toBe(true);
  });
});

// ─── docker compose ───────────────────────────────────────────────────────────────────────────

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  volumes?: unknown[];
  environment?: Record<string, string> | string[];
  ports?: string[];
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: Array<Record<string, unknown>> } } };
}

interface ComposeFile {
  services?: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** A compose value with `${NAME:-default}` replaced by its default (what an unset NAME gives). */
function withDefaults(value: string): string {
  return value.replace(/(?<!\$)\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, "$1");
}

/**
 * Every `${NAME…}` a compose file interpolates, comment lines aside (`$${…}` is an escape for the
 * container's shell, not an interpolation).
 */
function interpolatedNames(text: string): Set<string> {
  const code = text.replace(/^\s*#.*$/gm, "");
  return new Set([...code.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] ?? ""));
}

/**
 * What is wrong with a compose file: unparsable YAML, a service without image or build, a build
 * context or Dockerfile that is missing, a host path inside the repository that does not exist,
 * a named volume nobody declared. Host paths outside the repository (secrets, /etc/…) are the
 * operator's and are not checked.
 */
function composeProblems(text: string, composeDir: string): string[] {
  const document = parseDocument(text);
  if (document.errors.length > 0) return document.errors.map((error) => `YAML: ${error.message}`);
  const compose = document.toJS() as ComposeFile;
  const problems: string[] = [];
  const services = Object.entries(compose.services ?? {});
  if (services.length === 0) problems.push("no services");
  const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
  const insideRepo = (path: string) => !relative(REPO_ROOT, path).startsWith("..");
  for (const [name, service] of services) {
    if (service.image === undefined && service.build === undefined) problems.push(`${name}: neither image nor build`);
    if (service.build !== undefined) {
      const build = typeof service.build === "string" ? { context: service.build } : service.build;
      const context = resolve(composeDir, withDefaults(build.context ?? "."));
      if (!existsSync(context)) problems.push(`${name}: build context ${build.context} does not exist`);
      const dockerfile = resolve(context, withDefaults(build.dockerfile ?? "Dockerfile"));
      if (!existsSync(dockerfile)) problems.push(`${name}: Dockerfile ${build.dockerfile} does not exist`);
    }
    for (const volume of service.volumes ?? []) {
      if (typeof volume !== "string") {
        problems.push(`${name}: use the short volume syntax (${JSON.stringify(volume)})`);
        continue;
      }
      const source = withDefaults(volume).split(":")[0] ?? "";
      if (source.startsWith(".") || source.startsWith("/")) {
        const hostPath = isAbsolute(source) ? source : resolve(composeDir, source);
        if (insideRepo(hostPath) && !existsSync(hostPath))
          problems.push(`${name}: mounts ${source}, which does not exist`);
      } else if (!declaredVolumes.has(source)) {
        problems.push(`${name}: named volume ${source} is not declared under volumes`);
      }
    }
  }
  return problems;
}

function environmentOf(service: ComposeService | undefined): Record<string, string> {
  const environment = service?.environment ?? {};
  if (!Array.isArray(environment)) return environment;
  return Object.fromEntries(
    environment.map((entry) => [entry.split("=")[0] ?? "", entry.split("=").slice(1).join("=")]),
  );
}

describe("infra/docker/docker-compose.deploy.yml", () => {
  let text = "";
  let compose: ComposeFile = {};
  beforeAll(async () => {
    text = await read(COMPOSE_FILE);
    compose = parse(text) as ComposeFile;
  });
  const service = (name: string): ComposeService => {
    const found = compose.services?.[name];
    if (!found) throw new Error(`no ${name} service`);
    return found;
  };

  it("parses, every service has an image or a build, and every mounted repository path exists", () => {
    expect(composeProblems(text, DOCKER_DIR)).toEqual([]);
    expect(Object.keys(compose.services ?? {}).sort()).toEqual(
      ["cloudflared", "gpu-worker", "grafana", "minio", "minio-create-bucket", "prometheus"].sort(),
    );
  });

  it("reports a broken compose file (negative control)", () => {
    const broken = [
      "services:",
      "  nothing: {}",
      "  worker:",
      "    build: { context: ../.., dockerfile: infra/docker/missing.Dockerfile }",
      "    volumes:",
      "      - ../prometheus/no-such-file.yml:/etc/x.yml:ro",
      "      - undeclared:/data",
    ].join("\n");
    expect(composeProblems(broken, DOCKER_DIR)).toEqual([
      "nothing: neither image nor build",
      "worker: Dockerfile infra/docker/missing.Dockerfile does not exist",
      "worker: mounts ../prometheus/no-such-file.yml, which does not exist",
      "worker: named volume undeclared is not declared under volumes",
    ]);
    expect(composeProblems("services: [unclosed", DOCKER_DIR)[0]).toMatch(/^YAML: /);
  });

  it("hands the worker only variables its configuration validates, the required ones marked required", async () => {
    const names = await workerVariableNames();
    const environment = environmentOf(service("gpu-worker"));
    for (const name of Object.keys(environment)) expect(names.has(name), name).toBe(true);
    for (const name of [...REQUIRED_WORKER_VARIABLES, "MODELGATE_WORKER_URL"]) {
      expect(environment[name], name).toMatch(new RegExp(`^\\$\\{${name}:\\?`));
    }
  });

  it("is configured by deploy.env.example: every interpolated name is in it, nothing in it unused", async () => {
    const example = envFileEntries(await read(join(DOCKER_DIR, "deploy.env.example")));
    const interpolated = interpolatedNames(text);
    expect([...interpolated].filter((name) => !example.has(name))).toEqual([]);
    expect([...example.keys()].filter((name) => !interpolated.has(name))).toEqual([]);
    // Secrets stay empty in the example, so compose's required markers catch a forgotten one.
    for (const secret of [
      "MODELGATE_ENROLMENT_TOKEN",
      "MODELGATE_WORKER_TOKEN",
      "MODELGATE_SIGNING_SECRET",
      "GRAFANA_ADMIN_PASSWORD",
    ]) {
      expect(example.get(secret), secret).toBe("");
    }
  });

  it("mounts the Prometheus rules where the example configuration looks for them", async () => {
    // With PROMETHEUS_CONFIG unset: the example itself.
    const volumes = (service("prometheus").volumes ?? []).map((volume) => withDefaults(String(volume)));
    expect(volumes).toContain("../prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro");
    expect(volumes).toContain("../prometheus/prometheus.example.yml:/etc/prometheus/prometheus.yml:ro");
    const config = parse(await read(join(REPO_ROOT, "infra/prometheus/prometheus.example.yml"))) as {
      rule_files?: string[];
    };
    expect(config.rule_files).toContain("alerts.yml");
  });

  it("mounts Grafana's provisioning and dashboards where the provisioning files point", async () => {
    const volumes = (service("grafana").volumes ?? []).map(String);
    expect(volumes).toContain("../grafana/provisioning:/etc/grafana/provisioning:ro");
    const dashboards = volumes.find((volume) => volume.startsWith("../grafana/dashboards:"));
    const provider = parse(await read(join(REPO_ROOT, "infra/grafana/provisioning/dashboards/modelgate.yml"))) as {
      providers: Array<{ options: { path: string } }>;
    };
    expect(dashboards?.split(":")[1]).toBe(provider.providers[0]?.options.path);
    const datasource = parse(await read(join(REPO_ROOT, "infra/grafana/provisioning/datasources/prometheus.yml"))) as {
      datasources: Array<{ url: string }>;
    };
    // The datasource names the Prometheus service of this file.
    expect(new URL(datasource.datasources[0]?.url ?? "").hostname).toBe("prometheus");
  });

  it("publishes the worker and monitoring on loopback only", () => {
    for (const name of ["gpu-worker", "prometheus", "grafana", "minio"]) {
      for (const port of service(name).ports ?? []) expect(port, `${name} ${port}`).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("keeps the optional services behind profiles", () => {
    expect(service("minio").profiles).toEqual(["minio"]);
    expect(service("minio-create-bucket").profiles).toEqual(["minio"]);
    expect(service("cloudflared").profiles).toEqual(["tunnel"]);
    for (const name of ["gpu-worker", "prometheus", "grafana"]) expect(service(name).profiles).toBeUndefined();
  });

  it("offers an NVIDIA GPU reservation that parses once uncommented", () => {
    const uncommented = text.replace(/^(\s*)#gpu /gm, "$1");
    expect(uncommented).not.toBe(text);
    expect(composeProblems(uncommented, DOCKER_DIR)).toEqual([]);
    const gpu = (parse(uncommented) as ComposeFile).services?.["gpu-worker"];
    expect(gpu?.deploy?.resources?.reservations?.devices).toEqual([
      { driver: "nvidia", count: "all", capabilities: ["gpu"] },
    ]);
  });
});

// ─── systemd ──────────────────────────────────────────────────────────────────────────────────

interface ToolResult {
  exitCode: number;
  output: string;
}

function runTool(command: string, args: readonly string[]): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, [...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (error === null) resolvePromise({ exitCode: 0, output });
      else if (typeof error.code === "number") resolvePromise({ exitCode: error.code, output });
      else reject(new Error(`${command} could not run: ${error.message}`));
    });
  });
}

/** `Key=value` settings of a unit file (repeated keys keep every value). */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!match?.[1]) continue;
    settings.set(match[1], [...(settings.get(match[1]) ?? []), match[2] ?? ""]);
  }
  return settings;
}

describe("infra/systemd/modelgate-gpu-worker.service", () => {
  let systemdAnalyze = "";
  let text = "";
  let settings = new Map<string, string[]>();
  let scratch = "";
  const one = (key: string) => settings.get(key)?.at(-1);

  /**
   * A copy of the unit in a scratch folder. `systemd-analyze verify` insists that ExecStart's
   * program exists, and this checkout is not at /opt/modelgate, so the copy runs this Node
   * (an existing binary) with the same arguments. Everything else is the unit as shipped.
   */
  async function testableCopy(extraLines = ""): Promise<string> {
    const execStart = one("ExecStart") ?? "";
    const copy = text.replace(
      `ExecStart=${execStart}`,
      `ExecStart=${process.execPath}${execStart.replace(/^\S+/, "")}`,
    );
    const path = join(scratch, "modelgate-gpu-worker.service");
    await writeFile(path, `${copy}${extraLines}`);
    return path;
  }

  beforeAll(async () => {
    systemdAnalyze = await ensureSystemTool(SYSTEMD_ANALYZE);
    text = await read(UNIT_FILE);
    settings = unitSettings(text);
    scratch = await mkdtemp(join(tmpdir(), "modelgate-systemd-"));
  });
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it("passes systemd-analyze verify without a message", async () => {
    const result = await runTool(systemdAnalyze, ["verify", await testableCopy()]);
    expect(result).toEqual({ exitCode: 0, output: "" });
  });

  it("an invalid directive is reported (negative control)", async () => {
    const unit = await testableCopy("\n[Service]\nRestart=sometimes\nKillSignalz=SIGTERM\n");
    const result = await runTool(systemdAnalyze, ["verify", unit]);
    expect(result.output).toContain("Failed to parse service restart specifier");
    expect(result.output).toContain("Unknown key 'KillSignalz'");
  });

  it("is hardened: systemd-analyze security rates its exposure at most 3.0", async () => {
    const result = await runTool(systemdAnalyze, [
      "security",
      "--offline=true",
      "--threshold=30",
      await testableCopy(),
    ]);
    expect(result.exitCode, result.output).toBe(0);
    // The same check fails for a unit without any hardening (negative control).
    const bare = join(scratch, "bare.service");
    await writeFile(bare, `[Service]\nExecStart=${process.execPath}\n`);
    expect((await runTool(systemdAnalyze, ["security", "--offline=true", "--threshold=30", bare])).exitCode).not.toBe(
      0,
    );
  });

  it("runs the worker from the checkout with its environment file, as its own user", () => {
    expect(one("EnvironmentFile")).toBe("/etc/modelgate/gpu-worker.env");
    expect(one("User")).toBe("modelgate");
    expect(one("WorkingDirectory")).toBe("/opt/modelgate");
    const [program, ...args] = (one("ExecStart") ?? "").split(/\s+/);
    expect(program && isAbsolute(program)).toBe(true);
    expect(args).toEqual(["--import", "tsx", "gpu-worker/src/main.ts"]);
    // The entry point it names, relative to WorkingDirectory, is the one in this repository.
    expect(existsSync(join(REPO_ROOT, args.at(-1) ?? ""))).toBe(true);
    expect(one("Restart")).toBe("on-failure");
  });

  it("stops with SIGTERM and waits longer than the edge waits for a forward", async () => {
    expect(one("KillSignal")).toBe("SIGTERM");
    const wrangler = await read(join(REPO_ROOT, "wrangler.toml"));
    const forwardTimeouts = [...wrangler.matchAll(/^MODELGATE_FORWARD_TIMEOUT_MS = "(\d+)"/gm)].map((m) =>
      Number(m[1]),
    );
    expect(forwardTimeouts.length).toBeGreaterThan(0);
    const longestForwardS = Math.max(...forwardTimeouts) / 1000;
    expect(Number.parseInt(one("TimeoutStopSec") ?? "0", 10)).toBeGreaterThan(longestForwardS);
    const compose = parse(await read(COMPOSE_FILE)) as { services: Record<string, { stop_grace_period?: string }> };
    expect(Number.parseInt(compose.services["gpu-worker"]?.stop_grace_period ?? "0", 10)).toBeGreaterThan(
      longestForwardS,
    );
  });

  it("can write only its cache directory", () => {
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("NoNewPrivileges")).toBe("true");
    expect(one("PrivateTmp")).toBe("true");
    expect(one("CacheDirectory")).toBe("modelgate");
    expect(settings.get("ReadWritePaths")).toEqual(["/var/cache/modelgate"]);
    expect(settings.get("Environment")).toContain("MODELGATE_CACHE_DIR=/var/cache/modelgate");
    // The GPU must stay visible: PrivateDevices would hide /dev/nvidia*.
    expect(settings.has("PrivateDevices")).toBe(false);
  });

  it("gpu-worker.env.example sets only variables the worker validates, the required ones included", async () => {
    const names = await workerVariableNames();
    const example = envFileEntries(await read(join(REPO_ROOT, "infra/systemd/gpu-worker.env.example")));
    for (const name of example.keys()) expect(names.has(name), name).toBe(true);
    for (const name of [...REQUIRED_WORKER_VARIABLES, "MODELGATE_WORKER_URL"])
      expect(example.has(name), name).toBe(true);
  });
});

describe("worker variable list (the yardstick of the checks above)", () => {
  it("is read from gpu-worker/src/config.ts", async () => {
    const names = await workerVariableNames();
    expect(names.size).toBeGreaterThan(15);
    for (const name of [...REQUIRED_WORKER_VARIABLES, "HOST", "PORT", "MODELGATE_CACHE_DIR", "LATENT_MODE"]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(names.has("MODELGATE_NOT_A_SETTING")).toBe(false);
  });
});
