/**
 * A Prometheus configuration for a running modelgate: the same two jobs and alert rules as
 * `prometheus.example.yml`, pointed at given URLs. `npm start` writes one for its local stack
 * (`.modelgate/prometheus.yml`) and the real-scrape test runs Debian's Prometheus with it.
 */
import { stringify } from "yaml";

export const EDGE_JOB = "modelgate-edge";
export const WORKER_JOB = "modelgate-worker";

export interface ScrapeConfigOptions {
  edgeUrl: string;
  workerUrls: readonly string[];
  /** A file holding the edge's metrics token (or an admin key). */
  edgeTokenFile: string;
  /** A file holding the workers' MODELGATE_METRICS_TOKEN, when they set one. */
  workerTokenFile?: string;
  /** Alert rule files to load (absolute paths). */
  ruleFiles?: readonly string[];
  scrapeIntervalSeconds?: number;
}

function target(url: string): { scheme: string; address: string } {
  const parsed = new URL(url);
  return { scheme: parsed.protocol.replace(":", ""), address: parsed.host };
}

export function prometheusConfig(options: ScrapeConfigOptions): string {
  const interval = `${options.scrapeIntervalSeconds ?? 15}s`;
  const edge = target(options.edgeUrl);
  const workers = options.workerUrls.map(target);
  const workerScheme = workers[0]?.scheme ?? "http";
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: [...(options.ruleFiles ?? [])],
    scrape_configs: [
      {
        job_name: EDGE_JOB,
        scheme: edge.scheme,
        metrics_path: "/metrics",
        authorization: { type: "Bearer", credentials_file: options.edgeTokenFile },
        static_configs: [{ targets: [edge.address] }],
      },
      {
        job_name: WORKER_JOB,
        scheme: workerScheme,
        metrics_path: "/metrics",
        ...(options.workerTokenFile
          ? { authorization: { type: "Bearer", credentials_file: options.workerTokenFile } }
          : {}),
        static_configs: [{ targets: workers.map((w) => w.address) }],
      },
    ],
  };
  return `# Written by modelgate for this stack; see infra/prometheus/prometheus.example.yml.\n${stringify(config)}`;
}
