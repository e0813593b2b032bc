/** `version`: envd prints its own version this way; we add the runtime that runs us. */
import { VERSION } from "../version.ts";
import type { CommandSpec } from "./command.ts";

/** The runtime executing this binary, e.g. `bun 1.4.5`. */
export function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

export const version: CommandSpec = {
  name: "version",
  usage: "Print envd-lite version information",
  run(inv) {
    const arch = process.arch === "x64" ? "amd64" : process.arch;
    inv.out.stdout(
      `envd-lite: v${VERSION}\n  Runtime: ${runtimeName()}\n  Platform: ${process.platform}/${arch}\n`,
    );
    return Promise.resolve();
  },
};
