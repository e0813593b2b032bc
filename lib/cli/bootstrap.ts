/** `bootstrap`: make the current context's builder ready and say what answers. */
import { type CommandSpec, str } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { builderUrl } from "./_contexts.ts";
import { platformText } from "./builder_info.ts";

export const bootstrap: CommandSpec = {
  name: "bootstrap",
  usage: "Make the current context's builder ready: start a managed daemon, wait until buildkitd answers",
  flags: [
    {
      name: "buildkitd-image",
      type: "string",
      value: "IMAGE",
      help: "buildkit image for a docker-container builder created now (overrides [daemon] image once)",
    },
    {
      name: "recreate",
      type: "bool",
      help: "re-create a managed daemon whose configuration changed (its cache volume is kept)",
    },
  ],
  async run(inv) {
    const started = Date.now();
    const b = await openBuilder(inv, {
      recreate: inv.flags.recreate === true,
      image: str(inv, "buildkitd-image"),
    });
    try {
      const info = await b.client.info({ signal: inv.signal });
      const addr = builderUrl(b.context.builder, b.context.builderAddress);
      inv.log.info(`The buildkit is running at ${addr}`, { cmd: "bootstrap", ms: Date.now() - started });
      inv.out.stdout(
        `BuildKit: ${info.package || "buildkitd"} ${info.version || "(version not reported)"}${
          info.revision ? ` ${info.revision}` : ""
        }\n`,
      );
      for (const w of b.workers) {
        inv.out.stdout(`Worker:   ${w.id} (${w.platforms.map(platformText).join(", ")})\n`);
      }
    } finally {
      await b.close();
    }
  },
};
