// Entry point of every inference thread. Worker threads start as plain Node, which cannot load
// the TypeScript sources (or the `.js` specifiers that point at `.ts` files) by itself, so this
// plain-JS file loads the thread through tsx's scoped loader. It works the same under `tsx`,
// under vitest, and when the parent process has no TypeScript loader at all.
import { tsImport } from "tsx/esm/api";

await tsImport("./inference-thread.ts", import.meta.url);
