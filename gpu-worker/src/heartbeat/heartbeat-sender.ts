/**
 * Pushes the worker's state to the edge every interval. The edge routes only to workers with a
 * recent heartbeat, so a failed send is logged and retried on the next tick, never fatal.
 */
import {
  type HeartbeatAccepted,
  HeartbeatAcceptedSchema,
  type WorkerHeartbeat,
  WorkerHeartbeatSchema,
} from "@modelgate/shared";
import { type Logger, silentLogger } from "../logger.js";

export interface HeartbeatSenderOptions {
  edgeUrl: string;
  workerToken: string;
  intervalMs: number;
  /** Builds the current heartbeat from in-memory state. */
  buildHeartbeat(): WorkerHeartbeat;
  /** The edge's answer to an accepted heartbeat: what placement asks this worker to preload. */
  onAccepted?(answer: HeartbeatAccepted): void;
  fetch?: typeof fetch;
  logger?: Logger;
}

export interface HeartbeatSender {
  /** Sends one heartbeat now, then one every interval. */
  start(): void;
  /** Stops the timer and abandons a send in progress. */
  stop(): void;
  /** Sends one heartbeat; resolves true when the edge accepted it. */
  sendNow(): Promise<boolean>;
}

/** While the edge stays unreachable, log the first failure and then one in this many. */
const LOG_EVERY_NTH_FAILURE = 12;
/**
 * Until the edge has accepted a first heartbeat, a failed one is retried sooner than the interval
 * (250 ms, doubling up to it), so a worker that boots beside its edge joins as soon as the edge
 * answers; failures in that time are only warned about once it has lasted this long.
 */
const FIRST_RETRY_MS = 250;
const BOOT_QUIET_MS = 30_000;

export function heartbeatUrl(edgeUrl: string): string {
  return `${edgeUrl.replace(/\/+$/, "")}/internal/workers/heartbeat`;
}

export function createHeartbeatSender(options: HeartbeatSenderOptions): HeartbeatSender {
  const send = options.fetch ?? fetch;
  const logger = options.logger ?? silentLogger;
  const url = heartbeatUrl(options.edgeUrl);
  let timer: NodeJS.Timeout | undefined;
  let inFlight: AbortController | undefined;
  let retry: NodeJS.Timeout | undefined;
  let consecutiveFailures = 0;
  let accepted = false;
  let startedAt = Date.now();

  /** `unreachable`: no answer at all (an edge still starting), as opposed to an answer refusing us. */
  const recordFailure = (reason: string, unreachable: boolean) => {
    consecutiveFailures++;
    const booting = unreachable && !accepted && Date.now() - startedAt < BOOT_QUIET_MS;
    if (booting) {
      logger.debug("heartbeat to the edge failed (the edge may still be starting)", { url, reason });
      return;
    }
    if (consecutiveFailures === 1 || consecutiveFailures % LOG_EVERY_NTH_FAILURE === 0) {
      logger.warn("heartbeat to the edge failed", { url, reason, consecutive_failures: consecutiveFailures });
    }
  };

  /** Before the first accepted heartbeat: try again soon, backing off to the interval. */
  const retryUntilAccepted = (delayMs: number) => {
    retry = setTimeout(async () => {
      retry = undefined;
      if (accepted || timer === undefined) return;
      if (!(await sendNow()) && !accepted && timer !== undefined) {
        retryUntilAccepted(Math.min(delayMs * 2, options.intervalMs));
      }
    }, delayMs);
    retry.unref();
  };

  /** An older edge answers without `preload` (the default fills it in); an answer not understood is only logged. */
  const actOnAnswer = (text: string) => {
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    const answered = HeartbeatAcceptedSchema.safeParse(answer);
    if (answered.success) options.onAccepted?.(answered.data);
    else logger.warn("the edge's heartbeat answer was not understood", { url });
  };

  const sendNow = async (): Promise<boolean> => {
    // A slow edge must not collect a pile of overlapping heartbeats; the next tick carries fresher state.
    if (inFlight) return false;
    const controller = new AbortController();
    inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), options.intervalMs);
    try {
      const body = WorkerHeartbeatSchema.parse(options.buildHeartbeat());
      const response = await send(url, {
        method: "POST",
        headers: { authorization: `Bearer ${options.workerToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      // Read the body in every case, so the connection can be reused.
      const text = await response.text().catch(() => "");
      if (!response.ok) {
        recordFailure(`edge answered ${response.status}`, false);
        return false;
      }
      if (text !== "") actOnAnswer(text);
      if (consecutiveFailures > 0 && accepted) logger.info("heartbeats reach the edge again", { url });
      consecutiveFailures = 0;
      accepted = true;
      return true;
    } catch (error) {
      recordFailure(error instanceof Error ? error.message : String(error), true);
      return false;
    } finally {
      clearTimeout(timeout);
      if (inFlight === controller) inFlight = undefined;
    }
  };

  return {
    sendNow,
    start() {
      if (timer) return;
      startedAt = Date.now();
      timer = setInterval(() => void sendNow(), options.intervalMs);
      timer.unref();
      void sendNow().then((ok) => {
        if (!ok && !accepted) retryUntilAccepted(Math.min(FIRST_RETRY_MS, options.intervalMs));
      });
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (retry) clearTimeout(retry);
      retry = undefined;
      inFlight?.abort();
      inFlight = undefined;
    },
  };
}
