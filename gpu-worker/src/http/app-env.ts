import type { Logger } from "../logger.js";

/** Hono context for the worker app: what middleware hands to routes. */
export interface WorkerAppEnv {
  Variables: {
    /** The raw body bytes, set once the edge's signature over them has been verified. */
    verifiedBody: Uint8Array<ArrayBuffer>;
    logger: Logger;
    /** The edge's `x-request-id` when well-formed, else one of the worker's own. */
    requestId: string;
  };
}
