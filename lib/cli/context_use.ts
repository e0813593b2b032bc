/** `context use` and `context rm`: envd's flags and messages. */
import { loadContextsFile, removeContext, useContext } from "../config/mod.ts";
import { UserError, wrapError } from "../errors.ts";
import { bool, type CommandSpec, str } from "./command.ts";
import { contextsPath, markCurrent } from "./_contexts.ts";

const nameFlag = {
  name: "name",
  type: "string",
  value: "NAME",
  required: true,
  help: "Name of the context",
} as const;

export const contextUse: CommandSpec = {
  name: "use",
  usage: "Use the specified envd context",
  flags: [nameFlag],
  async run(inv) {
    const name = str(inv, "name")!;
    let model;
    try {
      model = await useContext(contextsPath(inv), name);
    } catch (err) {
      throw wrapError(`failed to use the specified context ${name}`, err);
    }
    inv.log.info(`Current context is "${name}"`, { cmd: "context use" });
    markCurrent(inv, model);
  },
};

export const contextRm: CommandSpec = {
  name: "rm",
  usage: "Remove envd context",
  flags: [nameFlag, {
    name: "remove-builder",
    type: "bool",
    help: "Also remove the managed builder (container or local daemon) it started; its cache volume is kept",
  }],
  async run(inv) {
    const name = str(inv, "name")!;
    let model;
    try {
      const path = contextsPath(inv);
      if (bool(inv, "remove-builder")) {
        // Check first that the context may go, so a refusal leaves the builder running too.
        const file = loadContextsFile(path);
        const ctx = file.model.contexts.find((c) => c.name === name);
        if (!ctx) throw new UserError(`cannot find context "${name}"`);
        if (file.model.current === name) throw new UserError(`cannot remove current context "${name}"`);
        const { removeBuilder } = await import("./builder_lifecycle.ts");
        await removeBuilder(inv, ctx, true, false);
      }
      model = await removeContext(path, name);
    } catch (err) {
      throw wrapError("failed to remove context", err);
    }
    inv.log.info(`Context ${name} is removed`, { cmd: "context remove" });
    markCurrent(inv, model);
  },
};
