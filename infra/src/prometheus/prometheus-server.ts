/**
 * Debian's Prometheus server, run for real against a modelgate stack (the real-scrape test),
 * with a small client for the parts of its HTTP API the tests read.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { captureChildOutput } from "../local-stack/child-output.js";
import { stopProcessGroup } from "../local-stack/edge-dev-server.js";
import { ensureSystemTool, PROMETHEUS } from "../tools/ensure-system-tool.js";

export interface PrometheusTarget {
  labels: Record<string, string>;
  health: "up" | "down" | "unknown";
  lastError: string;
  lastScrape: string;
  scrapeUrl: string;
}

export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RuleGroup {
  name: string;
  rules: Array<{ name: string; type: string; health: string; lastError?: string; state?: string; query: string }>;
}

export interface RunningPrometheus {
  url: string;
  targets(): Promise<PrometheusTarget[]>;
  /** An instant query; throws with Prometheus' own message when the expression is refused. */
  query(expr: string): Promise<InstantSample[]>;
  /** Names of every metric family a target reported (HELP/TYPE), with or without samples. */
  metadataNames(): Promise<Set<string>>;
  ruleGroups(): Promise<RuleGroup[]>;
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: "success" | "error";
  data: T;
  error?: string;
  errorType?: string;
}

export async function startPrometheus(options: {
  configFile: string;
  dataDir: string;
  port: number;
  readyTimeoutMs?: number;
}): Promise<RunningPrometheus> {
  const binary = await ensureSystemTool(PROMETHEUS);
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${options.configFile}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      "--log.level=warn",
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  const recent = captureChildOutput(child);
  const url = `http://127.0.0.1:${options.port}`;
  const stop = () => stopProcessGroup(child);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited with code ${child.exitCode}:\n${recent.join("\n")}`);
    try {
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (ready.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within the deadline:\n${recent.join("\n")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  async function api<T>(path: string): Promise<T> {
    const response = await fetch(`${url}${path}`);
    const answer = (await response.json()) as ApiAnswer<T>;
    if (answer.status !== "success") throw new Error(`${path}: ${answer.errorType ?? "error"}: ${answer.error ?? ""}`);
    return answer.data;
  }

  return {
    url,
    async targets() {
      const data = await api<{ activeTargets: PrometheusTarget[] }>("/api/v1/targets?state=active");
      return data.activeTargets;
    },
    async query(expr) {
      const data = await api<{ resultType: string; result: InstantSample[] | [number, string] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      // Scalars and strings come back as one pair; vectors as a list of samples (matrices need a range query).
      if (data.resultType === "scalar" || data.resultType === "string") {
        return [{ metric: {}, value: data.result as [number, string] }];
      }
      return data.result as InstantSample[];
    },
    async metadataNames() {
      const data = await api<Record<string, unknown>>("/api/v1/metadata");
      return new Set(Object.keys(data));
    },
    async ruleGroups() {
      const data = await api<{ groups: RuleGroup[] }>("/api/v1/rules");
      return data.groups;
    },
    stop,
  };
}
