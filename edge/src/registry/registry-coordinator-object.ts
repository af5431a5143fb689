import { DurableObject } from "cloudflare:workers";
import type { EdgeBindings } from "../env.js";

/** Serializes registry writes and keeps the search index (being built in this change). */
export class RegistryCoordinator extends DurableObject<EdgeBindings> {}
