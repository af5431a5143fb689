/**
 * The worker's own credential for heartbeats and job calls (issue 17). A fresh enrolment token
 * (`modelgate workers enroll <id>`) is exchanged once at start-up and the credential kept in a
 * private file, so a restart reuses it; without either, the legacy shared token is sent (only
 * an edge in legacy mode accepts it).
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { WorkerCredentialIssuedSchema } from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";

export interface WorkerCredentialOptions {
  edgeUrl: string;
  workerId: string;
  enrolmentToken: string | undefined;
  credentialFile: string;
  legacyToken: string | undefined;
  /** How long to keep trying to reach an edge that is still starting. */
  reachEdgeWithinMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

export type CredentialSource = "enrolment" | "stored" | "legacy-token";

export class WorkerCredentialError extends Error {
  override name = "WorkerCredentialError";
}

/** The edge did not answer the exchange at all (as opposed to refusing it). */
class EdgeUnreachableError extends WorkerCredentialError {}

/** How long a worker that already holds a credential waits for the edge to exchange a new token. */
const STORED_FALLBACK_WAIT_MS = 5000;

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2000;

async function readStoredCredential(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

export async function obtainWorkerCredential(
  options: WorkerCredentialOptions,
): Promise<{ credential: string; source: CredentialSource }> {
  const logger = options.logger ?? silentLogger;
  const stored = await readStoredCredential(options.credentialFile);
  if (options.enrolmentToken !== undefined) {
    try {
      // With a credential in hand, an edge that does not answer soon is not worth a failed start.
      const exchanged = await exchangeEnrolmentToken(
        stored === undefined
          ? options
          : { ...options, reachEdgeWithinMs: Math.min(options.reachEdgeWithinMs ?? 60_000, STORED_FALLBACK_WAIT_MS) },
        options.enrolmentToken,
        logger,
      );
      if (exchanged !== undefined) return { credential: exchanged, source: "enrolment" };
      // Already exchanged (a restart with the same environment): the stored credential is the one it gave.
    } catch (error) {
      if (!(error instanceof EdgeUnreachableError) || stored === undefined) throw error;
      logger.warn("the edge is not reachable to exchange the enrolment token; using the stored credential", {
        file: options.credentialFile,
      });
    }
  }
  if (stored !== undefined) return { credential: stored, source: "stored" };
  if (options.legacyToken !== undefined) return { credential: options.legacyToken, source: "legacy-token" };
  throw new WorkerCredentialError(
    options.enrolmentToken === undefined
      ? `no credential: set MODELGATE_ENROLMENT_TOKEN (modelgate workers enroll ${options.workerId})`
      : `the enrolment token was already used and ${options.credentialFile} holds no credential; issue a new one with \`modelgate workers enroll ${options.workerId}\``,
  );
}

/** The new credential, or undefined when the edge says the token was already exchanged. */
async function exchangeEnrolmentToken(
  options: WorkerCredentialOptions,
  token: string,
  logger: Logger,
): Promise<string | undefined> {
  const send = options.fetch ?? fetch;
  const url = `${options.edgeUrl.replace(/\/+$/, "")}/internal/workers/enrol`;
  const deadline = Date.now() + (options.reachEdgeWithinMs ?? 60_000);
  let delay = FIRST_RETRY_MS;
  for (;;) {
    let response: Response;
    try {
      response = await send(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ enrolment_token: token }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      // An edge still starting beside its worker: try again soon, up to the deadline.
      if (Date.now() + delay > deadline) {
        throw new EdgeUnreachableError(`could not reach the edge at ${url} to enrol: ${String(error)}`);
      }
      logger.debug("enrolment: the edge is not answering yet", { url });
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_RETRY_MS);
      continue;
    }
    const text = await response.text();
    if (response.status === 409) {
      logger.info("enrolment token already exchanged; using the stored credential", { file: options.credentialFile });
      return undefined;
    }
    if (response.status !== 201) {
      throw new WorkerCredentialError(
        `the edge refused the enrolment token (${response.status}): ${text.slice(0, 300)}`,
      );
    }
    const issued = WorkerCredentialIssuedSchema.parse(JSON.parse(text));
    if (issued.worker_id !== options.workerId) {
      throw new WorkerCredentialError(
        `the enrolment token is for worker ${issued.worker_id}, but this worker is ${options.workerId} (MODELGATE_WORKER_ID)`,
      );
    }
    await mkdir(dirname(options.credentialFile), { recursive: true });
    await writeFile(options.credentialFile, `${issued.credential}\n`, { mode: 0o600 });
    await chmod(options.credentialFile, 0o600);
    logger.info("enrolled with the edge", {
      worker_id: issued.worker_id,
      url_pattern: issued.url_pattern,
      labels: issued.labels,
    });
    return issued.credential;
  }
}
