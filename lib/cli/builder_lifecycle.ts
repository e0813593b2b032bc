/** `builder stop` and `builder rm`: end or delete the managed buildkitd of the current context. */
import type { Context } from "../config/types.ts";
import { UserError } from "../errors.ts";
import type { CommandSpec, Invocation } from "./command.ts";
import { loadDriver } from "./_builder.ts";
import { builderUrl, currentContext } from "./_contexts.ts";

function notManaged(context: Context): string {
  const hint = context.builder === "unix"
    ? ` (add a [context.${context.name}.daemon] table to have envd-lite run it)`
    : "";
  return `builder ${
    builderUrl(context.builder, context.builderAddress)
  } of context "${context.name}" is not managed by envd-lite${hint}`;
}

export const builderStop: CommandSpec = {
  name: "stop",
  usage: "Stop the current context's managed buildkitd (its cache is kept; the next command starts it again)",
  async run(inv) {
    const { context } = currentContext(inv);
    const driver = await loadDriver(inv, context);
    if (!driver.stop) throw new UserError(notManaged(context));
    const r = await driver.stop({ signal: inv.signal });
    inv.log.info(r.message, { cmd: "builder stop", context: context.name });
  },
};

export const builderRm: CommandSpec = {
  name: "rm",
  usage:
    "Remove the current context's managed buildkitd; its cache (volume or state directory) stays unless --keep-state=false",
  flags: [{
    name: "keep-state",
    type: "bool",
    default: true,
    help: "Keep the build cache (use --keep-state=false to delete it)",
  }],
  async run(inv) {
    const { context } = currentContext(inv);
    await removeBuilder(inv, context, inv.flags["keep-state"] !== false, true);
  },
};

/**
 * Removes `context`'s managed builder (for `builder rm`, and `context rm --remove-builder` before the context goes).
 * A builder envd-lite does not manage is an error when `strict`, else only noted.
 */
export async function removeBuilder(
  inv: Invocation,
  context: Context,
  keepState: boolean,
  strict: boolean,
): Promise<void> {
  const driver = await loadDriver(inv, context);
  if (!driver.remove) {
    if (strict) throw new UserError(notManaged(context));
    inv.log.info(`${notManaged(context)}; leaving it alone`, { context: context.name });
    return;
  }
  const r = await driver.remove({ keepState, signal: inv.signal });
  inv.log.info(r.message, { cmd: "builder rm", context: context.name });
}
