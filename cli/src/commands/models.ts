import type { Command } from "commander";
import type { CliSession } from "../session.js";
import { registerConvertCommands } from "./models-convert.js";
import { registerDeployCommands } from "./models-deploy.js";
import { registerModelReadCommands } from "./models-read.js";
import { registerRegisterCommand } from "./models-register.js";
import { registerRolloutCommands } from "./models-rollout.js";
import { registerUploadCommand } from "./models-upload.js";
import { registerModelWriteCommands } from "./models-write.js";

/**
 * `modelgate models …`: the registry. Reading (list, info, history, best), registering,
 * uploading, and changing stages, metadata, aliases, policy; deleting; canary rollouts; placement
 * (deploy) and replica smoke tests.
 */
export function registerModelCommands(program: Command, session: CliSession): void {
  const models = program
    .command("models")
    .description(
      "the model registry: list, info, register, upload, promote, rollout, deploy, test, history, delete, best, …",
    );
  registerModelReadCommands(models, session);
  registerRegisterCommand(models, session);
  registerUploadCommand(models, session);
  registerModelWriteCommands(models, session);
  registerConvertCommands(models, session);
  registerRolloutCommands(models, session);
  registerDeployCommands(models, session);
}
