import type { ModelRecord, ModelVersion, RegisterVersionRequest, Result, Stage } from "@modelgate/shared";

/** The model registry as the routes see it; R2 is the one implementation. */
export interface RegistryStore {
  listModels(): Promise<ModelRecord[]>;
  getModel(name: string): Promise<ModelRecord | undefined>;
  registerVersion(name: string, request: RegisterVersionRequest, actor: string): Promise<Result<ModelVersion>>;
  changeStage(
    name: string,
    version: number,
    change: { stage: Stage; archiveExisting: boolean; reason?: string | undefined },
    actor: string,
  ): Promise<Result<ModelRecord>>;
}
