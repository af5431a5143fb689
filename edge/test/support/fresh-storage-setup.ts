/**
 * Every edge test file starts from empty storage, as if it had the runtime to itself.
 *
 * The edge project runs its files without isolation (`isolate: false` in vitest.config.ts): one
 * workerd runtime and one module graph serve every file a test worker runs, which saves importing
 * the whole edge app again for each file (~3 s a file, most of the project's time). Storage,
 * though, would carry over from the file before: a registration it left behind would become
 * version 1 of this file's model. So before a file's first test, the previous file's background
 * work is waited for and R2, D1 and every Durable Object are emptied.
 */
import { beforeAll } from "vitest";
import { resetEdge } from "./requests.js";

beforeAll(() => resetEdge());
