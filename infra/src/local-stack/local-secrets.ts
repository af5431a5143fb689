import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const LocalSecretsSchema = z.object({
  adminKey: z.string().min(16),
  workerToken: z.string().min(16),
  signingSecret: z.string().min(16),
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
  let secrets: LocalSecrets;
  try {
    secrets = LocalSecretsSchema.parse(JSON.parse(await readFile(secretsPath, "utf8")));
  } catch {
    secrets = { adminKey: token("mg_admin"), workerToken: token("mg_worker"), signingSecret: token("mg_sign") };
    await writeFile(secretsPath, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  const adminKeyPath = join(dataDir, "admin-key");
  await writeFile(adminKeyPath, `${secrets.adminKey}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; make sure an old file is private too.
  await chmod(adminKeyPath, 0o600);
  await chmod(secretsPath, 0o600);
  return secrets;
}
