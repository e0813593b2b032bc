/** `context create`: envd's flags, defaults and messages. */
import { createContext, normalizeAddress } from "../config/mod.ts";
import { BUILDER_TYPES } from "../driver/registry.ts";
import { wrapError } from "../errors.ts";
import { bool, type CommandSpec, str } from "./command.ts";
import { contextsPath } from "./_contexts.ts";

export const contextCreate: CommandSpec = {
  name: "create",
  usage: "Create envd context",
  flags: [
    { name: "name", type: "string", value: "NAME", required: true, help: "Name of the context" },
    {
      name: "builder",
      type: "string",
      value: "TYPE",
      default: "docker-container",
      help: `Builder to use (${BUILDER_TYPES.join(", ")})`,
    },
    {
      name: "builder-address",
      type: "string",
      value: "ADDR",
      default: "envd_buildkitd",
      help: "Builder address",
    },
    {
      name: "runner",
      type: "string",
      value: "TYPE",
      default: "docker",
      help: "Runner to use(docker, envd-server)",
    },
    { name: "runner-address", type: "string", value: "URL", help: "Runner address" },
    { name: "use", type: "bool", help: "Use the context" },
  ],
  async run(inv) {
    const name = str(inv, "name")!;
    const builder = str(inv, "builder")!;
    const runnerAddress = str(inv, "runner-address") || undefined;
    try {
      const ctx = {
        name,
        builder,
        builderAddress: normalizeAddress(builder, str(inv, "builder-address")!),
        runner: str(inv, "runner")!,
        runnerAddress,
      };
      if (!runnerAddress) delete ctx.runnerAddress;
      await createContext(contextsPath(inv), ctx, { use: bool(inv, "use") });
      inv.log.info(`Context ${name} is created`, {
        builder,
        builderAddress: ctx.builderAddress,
        cmd: "context create",
        name,
        runner: ctx.runner,
        runnerAddress,
        use: bool(inv, "use"),
      });
      if (bool(inv, "use")) inv.log.info(`Current context is "${name}"`, { cmd: "context create" });
    } catch (err) {
      throw wrapError("failed to create context", err);
    }
  },
};
