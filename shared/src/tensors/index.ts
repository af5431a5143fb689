export * from "./io-contract-check.js";
export * from "./onnx-io-reader.js";
export * from "./serving-config.js";
export * from "./tensor-contract.js";
export * from "./tensor-datatypes.js";
export * from "./tensor-frame.js";
export * from "./tensor-values.js";
