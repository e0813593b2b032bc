/** `context use` and `context rm`: envd's flags and messages. */
import { removeContext, useContext } from "../config/mod.ts";
import { wrapError } from "../errors.ts";
import { type CommandSpec, str } from "./command.ts";
import { contextsPath } from "./_contexts.ts";

const nameFlag = { name: "name", type: "string", value: "NAME", required: true, help: "Name of the context" } as const;

export const contextUse: CommandSpec = {
  name: "use",
  usage: "Use the specified envd context",
  flags: [nameFlag],
  async run(inv) {
    const name = str(inv, "name")!;
    try {
      await useContext(contextsPath(inv), name);
    } catch (err) {
      throw wrapError(`failed to use the specified context ${name}`, err);
    }
    inv.log.info(`Current context is "${name}"`, { cmd: "context use" });
  },
};

export const contextRm: CommandSpec = {
  name: "rm",
  usage: "Remove envd context",
  flags: [nameFlag],
  async run(inv) {
    const name = str(inv, "name")!;
    try {
      await removeContext(contextsPath(inv), name);
    } catch (err) {
      throw wrapError("failed to remove context", err);
    }
    inv.log.info(`Context ${name} is removed`, { cmd: "context remove" });
  },
};
