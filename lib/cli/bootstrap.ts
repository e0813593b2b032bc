/** `bootstrap`: make the current context's builder ready and say what answers. */
import { type CommandSpec, type Invocation, str } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { builderUrl, currentContext } from "./_contexts.ts";
import { nodeReport, platformText, versionText } from "./builder_info.ts";
import { openNodes } from "./_nodes.ts";
import { contextNodes } from "../config/nodes.ts";
import type { Context } from "../config/types.ts";
import { UserError } from "../errors.ts";

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
    const { context } = currentContext(inv);
    if (context.nodes?.length) return await bootstrapNodes(inv, context, started);
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

// Every node made ready in parallel; one line each, up or down with the cause; fails when any is down.
async function bootstrapNodes(inv: Invocation, ctx: Context, started: number): Promise<void> {
  const states = await openNodes(inv, ctx, contextNodes(ctx), {
    recreate: inv.flags.recreate === true,
    image: str(inv, "buildkitd-image"),
  });
  const reports = await Promise.all(states.map((st) => nodeReport(inv, ctx, st)));
  for (const r of reports) {
    inv.out.stdout(
      r.status === "up"
        ? `Node ${r.name}: up, BuildKit ${versionText(r.buildkit!)}, platforms ${r.platforms.join(", ")}\n`
        : `Node ${r.name}: down: ${r.error}\n`,
    );
  }
  const down = reports.filter((r) => r.status !== "up").map((r) => r.name);
  const up = reports.length - down.length;
  inv.log.info(`${up} of ${reports.length} nodes of context ${ctx.name} are running`, {
    cmd: "bootstrap",
    ms: Date.now() - started,
  });
  if (down.length) {
    throw new UserError(`context ${ctx.name}: node${down.length > 1 ? "s" : ""} ${down.join(", ")} down`);
  }
}
