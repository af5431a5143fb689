export * from "./evaluation-compare.js";
export * from "./evaluation-dataset.js";
export * from "./evaluation-job.js";
export * from "./evaluation-link.js";
export * from "./evaluation-report.js";
