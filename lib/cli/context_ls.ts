/** `context ls`: envd's table and JSON. */
import { UsageError } from "../errors.ts";
import type { Invocation } from "./command.ts";
import { type CommandSpec, str } from "./command.ts";
import { builderUrl, currentContext, loadContexts } from "./_contexts.ts";
import { renderEnvdTable } from "./table.ts";

export const contextLs: CommandSpec = {
  name: "ls",
  usage: "List envd contexts",
  flags: [{
    name: "format",
    alias: "f",
    type: "string",
    value: "FORMAT",
    default: "table",
    help: 'Format of output, could be "json" or "table"',
  }],
  run(inv: Invocation) {
    const format = str(inv, "format");
    if (format !== "json" && format !== "table") {
      throw new UsageError(`Argument format only allows "json" and "table", found "${format}"`, "context ls");
    }
    const file = loadContexts(inv);
    const current = currentContext(inv, file).context.name;
    const rows = file.model.contexts.map((c) => ({
      context: c.name,
      builder: c.builder,
      builder_addr: builderUrl(c.builder, c.builderAddress),
      runner: c.runner,
      ...(c.runnerAddress !== undefined ? { runner_addr: c.runnerAddress } : {}),
      current: c.name === current,
    }));
    if (format === "json") {
      inv.out.stdout(JSON.stringify(rows) + "\n");
      return Promise.resolve();
    }
    const table = rows.map((
      r,
    ) => [
      r.current ? `${r.context} (current)` : r.context,
      r.builder,
      r.builder_addr,
      r.runner,
      r.runner_addr ?? "",
    ]);
    inv.out.stdout(renderEnvdTable(["context", "builder", "builder addr", "runner", "runner addr"], table));
    return Promise.resolve();
  },
};
