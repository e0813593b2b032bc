/** `context ls`: envd's table and JSON, byte for byte. */
import { UsageError } from "../errors.ts";
import type { Invocation } from "./command.ts";
import { type CommandSpec, str } from "./command.ts";
import { builderUrl, loadContexts, markCurrent } from "./_contexts.ts";
import { renderEnvdTable } from "./table.ts";

/** JSON as Go's encoding/json writes it with HTML escaping off: U+2028/U+2029 are still escaped. */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

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
    const current = markCurrent(inv, file.model);
    const rows = file.model.contexts.map((c) => ({
      context: c.name,
      builder: c.builder,
      builder_addr: builderUrl(c.builder, c.builderAddress),
      runner: c.runner,
      ...(c.runnerAddress ? { runner_addr: c.runnerAddress } : {}),
      current: c.name === current,
    }));
    if (format === "json") {
      inv.out.stdout(goJson(rows) + "\n");
      return Promise.resolve();
    }
    const table = file.model.contexts.map((c, i) => [
      rows[i].current ? `${c.name} (current)` : c.name,
      c.builder,
      rows[i].builder_addr,
      c.runner,
      // envd shows a present but empty runner address as <none>, an absent one as nothing.
      c.runnerAddress === undefined ? "" : c.runnerAddress || "<none>",
    ]);
    inv.out.stdout(renderEnvdTable(["context", "builder", "builder addr", "runner", "runner addr"], table));
    return Promise.resolve();
  },
};
