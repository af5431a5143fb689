import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const LocalSecretsSchema = z.object({
  adminKey: z.string().min(16),
  workerToken: z.string().min(16),
  signingSecret: z.string().min(16),
  /** Opens the edge's GET /metrics (and nothing else) for a Prometheus server. */
  metricsToken: z.string().min(16),
});
export type LocalSecrets = z.infer<typeof LocalSecretsSchema>;

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString("base64url")}`;

/**
 * The local stack's secrets: generated on first run, reused afterwards so that a second
 * `npm start` keeps the same admin key. Files are mode 600; the admin key also sits alone in
 * `admin-key` so the CLI and curl examples can read it.
 */
export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  await mkdir(dataDir, { recursive: true });
  const secretsPath = join(dataDir, "secrets.json");
  let stored: Partial<LocalSecrets> = {};
  try {
    stored = LocalSecretsSchema.partial().parse(JSON.parse(await readFile(secretsPath, "utf8")));
  } catch {
    // No file yet, or an unreadable one: every secret is made afresh.
  }
  // A data dir from before a secret existed keeps its other secrets (the admin key above all).
  const secrets: LocalSecrets = {
    adminKey: stored.adminKey ?? token("mg_admin"),
    workerToken: stored.workerToken ?? token("mg_worker"),
    signingSecret: stored.signingSecret ?? token("mg_sign"),
    metricsToken: stored.metricsToken ?? token("mg_metrics"),
  };
  if (Object.keys(stored).length !== Object.keys(secrets).length) {
    await writeFile(secretsPath, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  const adminKeyPath = join(dataDir, "admin-key");
  await writeFile(adminKeyPath, `${secrets.adminKey}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; make sure an old file is private too.
  await chmod(adminKeyPath, 0o600);
  // Prometheus reads the metrics token from a file (`credentials_file`).
  const metricsTokenPath = join(dataDir, "metrics-token");
  await writeFile(metricsTokenPath, `${secrets.metricsToken}\n`, { mode: 0o600 });
  await chmod(metricsTokenPath, 0o600);
  await chmod(secretsPath, 0o600);
  return secrets;
}
