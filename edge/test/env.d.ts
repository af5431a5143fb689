import type { EdgeBindings } from "../src/env.js";

// Types `env` from "cloudflare:test" with the edge's real bindings.
declare global {
  namespace Cloudflare {
    interface Env extends EdgeBindings {}
  }
}
