export * from "./conversion-job.js";
export * from "./conversion-target.js";
export * from "./converted-format.js";
export * from "./deployment-manifest.js";
export * from "./model-contract.js";
export * from "./quality-gates.js";
export * from "./verification-report.js";
export * from "./verification-view.js";
