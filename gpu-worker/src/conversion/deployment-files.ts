/**
 * Seed 000's deployment files for a checked model: `runtime_config.json` (the full runtime
 * configuration it should be served with) and `deployment_manifest.json` (what it is, which
 * files make it up with their checksums, what it can do), beside seed 001's contract and
 * verification report. Bytes are deterministic (`JSON.stringify(x, null, 2) + "\n"`), so the same
 * inputs give the same content-addressed keys and a rerun stores nothing new.
 */
import {
  DEFAULT_RUNTIME_CONFIG,
  type DeploymentManifest,
  DeploymentManifestSchema,
  layerRuntimeConfig,
  type ModelContract,
  type ModelVersion,
  type RuntimeConfig,
  type SourceVerificationReport,
  type VerificationReport,
} from "@modelgate/shared";
import { sha256Hex } from "./verification-gates.js";

export type ManifestFile = DeploymentManifest["artifacts"]["onnx_export"];

export function jsonFileBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Seed 000's defaults under the version's own overrides; the halt head is enabled only when the
 * graph has one, whatever the overrides say, so the runtime never waits for a halt_logits output
 * that does not exist.
 */
export function buildRuntimeConfig(
  source: Pick<ModelVersion, "runtime_config">,
  contract: Pick<ModelContract, "model_arch">,
): RuntimeConfig {
  const layered = layerRuntimeConfig(DEFAULT_RUNTIME_CONFIG, source.runtime_config);
  const hasHaltHead = contract.model_arch.use_halt_head === true;
  return layerRuntimeConfig(layered, { halt_head_enabled: layered.halt_head_enabled && hasHaltHead });
}

export interface DeploymentFilesInput {
  source: ModelVersion;
  contract: ModelContract;
  /** The model file: the registered artifact for fp32, the stored converted file otherwise. */
  onnx: ManifestFile;
  /** The format's verification report (converted) or the original's source verification report. */
  verificationReport?: VerificationReport | SourceVerificationReport;
  /** Whether every must-pass gate passed (the report's `gates_ok`). */
  gatesOk: boolean;
  /** Where a file with this sha256 will be stored; the manifest names files by where they will be. */
  uriFor: (sha256: string) => string;
  now?: Date;
}

export interface DeploymentFiles {
  contract: Uint8Array;
  verification_report?: Uint8Array;
  runtime_config: Uint8Array;
  deployment_manifest: Uint8Array;
  manifest: DeploymentManifest;
  runtimeConfig: RuntimeConfig;
}

/** Every pipeline file of one format as bytes, the manifest listing the others by uri and sha256. */
export function buildDeploymentFiles(input: DeploymentFilesInput): DeploymentFiles {
  const { contract, source } = input;
  const runtimeConfig = buildRuntimeConfig(source, contract);
  const contractBytes = jsonFileBytes(contract);
  const runtimeConfigBytes = jsonFileBytes(runtimeConfig);
  const reportBytes = input.verificationReport === undefined ? undefined : jsonFileBytes(input.verificationReport);
  const listed = (bytes: Uint8Array): ManifestFile => {
    const sha256 = sha256Hex(bytes);
    return { uri: input.uriFor(sha256), sha256, bytes: bytes.byteLength };
  };
  const arch = contract.model_arch;
  const useHaltHead = arch.use_halt_head === true;
  const manifest = DeploymentManifestSchema.parse({
    schema: "modelgate.deployment-manifest/v1",
    model_info: {
      name: source.name,
      version: source.version,
      format: contract.format,
      use_halt_head: useHaltHead,
      // Only an exporter knows whether the model was trained to judge its own answers; absent means no.
      use_self_evaluation: arch.use_self_evaluation === true,
      arch: { ...arch },
    },
    artifacts: {
      onnx_export: input.onnx,
      contract: listed(contractBytes),
      ...(reportBytes === undefined ? {} : { verification_report: listed(reportBytes) }),
      runtime_config: listed(runtimeConfigBytes),
    },
    capabilities: {
      latent_reasoning: arch.latent_mode === true,
      halt_head: useHaltHead,
      code_mode: source.categories.includes("code"),
    },
    gates_ok: input.gatesOk,
    generated_at: (input.now ?? new Date()).toISOString(),
  } satisfies DeploymentManifest);
  return {
    contract: contractBytes,
    ...(reportBytes === undefined ? {} : { verification_report: reportBytes }),
    runtime_config: runtimeConfigBytes,
    deployment_manifest: jsonFileBytes(manifest),
    manifest,
    runtimeConfig,
  };
}
