// Entry point of the conversion thread. Like the inference threads, a worker thread starts as
// plain Node, so this plain-JS file loads the TypeScript thread through tsx's scoped loader.
import { tsImport } from "tsx/esm/api";

await tsImport("./conversion-thread.ts", import.meta.url);
