/** `context buildkitd-toml [NAME]`: the buildkitd.toml a context renders, for people who run buildkitd themselves. */
import { renderBuildkitdToml } from "../daemon/buildkitd_toml.ts";
import { UserError } from "../errors.ts";
import type { CommandSpec } from "./command.ts";
import { currentContext, loadContexts } from "./_contexts.ts";

export const contextBuildkitdToml: CommandSpec = {
  name: "buildkitd-toml",
  usage:
    "Print the buildkitd.toml a context renders (default: the current one); files are named where they are",
  args: "[NAME]",
  maxArgs: 1,
  run(inv) {
    const file = loadContexts(inv);
    const name = inv.args[0] ?? currentContext(inv, file).context.name;
    const ctx = file.model.contexts.find((c) => c.name === name);
    if (!ctx) throw new UserError(`cannot find context "${name}"`);
    inv.out.stdout(renderBuildkitdToml(ctx, null).text);
    return Promise.resolve();
  },
};
