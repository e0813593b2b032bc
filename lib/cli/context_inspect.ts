/** `context inspect` and `context show`: the resolved context, beyond what envd offers. */
import { parse } from "smol-toml";
import { keysWithoutEffect } from "../config/effect.ts";
import { renderContext } from "../config/mod.ts";
import type { Context, ResolvedContext } from "../config/types.ts";
import { UserError } from "../errors.ts";
import { type CommandSpec, str } from "./command.ts";
import { builderUrl, currentContext, loadContexts, markCurrent } from "./_contexts.ts";

/** A context as JSON with the same keys as its TOML table (plus envd's builder_addr). */
export function contextJson(c: Context): Record<string, unknown> {
  const table = (parse(renderContext(c, ["context"])) as { context: Record<string, unknown> }).context;
  return { name: c.name, ...table, builder_addr: builderUrl(c.builder, c.builderAddress) };
}

export const contextInspect: CommandSpec = {
  name: "inspect",
  usage: "Show a context in full (default: the one in use), with the file it came from",
  flags: [
    { name: "name", type: "string", value: "NAME", help: "Context to show (default: the current one)" },
    {
      name: "format",
      alias: "f",
      type: "string",
      value: "FORMAT",
      default: "toml",
      choices: ["toml", "json"],
      help: "Output format: toml or json",
    },
  ],
  run(inv) {
    const file = loadContexts(inv);
    const named = str(inv, "name");
    let resolved: ResolvedContext;
    try {
      resolved = currentContext(inv, file);
    } catch (err) {
      // Showing a context by name needs no current one: a stale --context / ENVD_CONTEXT is only a warning.
      if (named === undefined) throw err;
      const current = markCurrent(inv, file.model);
      resolved = {
        context: file.model.contexts.find((c) => c.name === current)!,
        file: file.path,
        source: "file",
      };
    }
    const name = named ?? resolved.context.name;
    const ctx = file.model.contexts.find((c) => c.name === name);
    if (!ctx) throw new UserError(`cannot find context "${name}"`);
    const from = file.text === null ? "embedded default (no contexts file yet)" : file.path;
    if (str(inv, "format") === "json") {
      inv.out.stdout(
        JSON.stringify(
          {
            ...contextJson(ctx),
            current: ctx.name === resolved.context.name,
            file: file.text === null ? null : file.path,
            noEffect: keysWithoutEffect(ctx),
          },
          null,
          2,
        ) + "\n",
      );
    } else {
      const mark = ctx.name === resolved.context.name
        ? ` (current, selected by ${
          resolved.source === "file" ? "the file" : resolved.source === "env" ? "ENVD_CONTEXT" : "--context"
        })`
        : "";
      const notes = keysWithoutEffect(ctx).map((n) => `# note: ${n}\n`).join("");
      inv.out.stdout(`# context "${ctx.name}"${mark}\n# from ${from}\n${notes}${renderContext(ctx)}`);
    }
    return Promise.resolve();
  },
};

export const contextShow: CommandSpec = {
  name: "show",
  usage: "Print the name of the context in use",
  run(inv) {
    inv.out.stdout(currentContext(inv).context.name + "\n");
    return Promise.resolve();
  },
};
