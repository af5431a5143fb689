export * from "./candidate-index.js";
export * from "./placement.js";
export * from "./route-explain.js";
export * from "./select-route.js";
export * from "./selection-flags.js";
export * from "./task-categories.js";
export * from "./worker-score.js";
