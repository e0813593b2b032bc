/** `serve`: run the context's buildkitd on this machine in the foreground, for clients of a tcp context. */
import { planServe, runServe } from "../daemon/serve.ts";
import { UserError } from "../errors.ts";
import { type CommandSpec, strs } from "./command.ts";
import { currentContext } from "./_contexts.ts";

export const serve: CommandSpec = {
  name: "serve",
  usage:
    "Run the context's buildkitd here in the foreground (config rendered from the context, [serve] TLS; rootless unless root)",
  flags: [
    {
      name: "addr",
      type: "strings",
      value: "ADDR",
      help:
        "Listen address, tcp://HOST:PORT or unix://PATH (default [serve].address, else tcp://0.0.0.0:8888)",
    },
  ],
  async run(inv) {
    const { context } = currentContext(inv);
    const plan = planServe(context, inv.env, process.getuid?.() ?? 0, strs(inv, "addr"));
    for (const w of plan.warnings) inv.log.warn(w, { context: context.name });
    inv.log.info(
      `serving context ${context.name} on ${plan.addresses.join(", ")}${plan.tls ? " (TLS)" : ""}${
        plan.rootless ? ", rootless" : ""
      } (config: ${plan.configFile})`,
      { cmd: "serve" },
    );
    const code = await runServe(plan, inv.signal);
    if (inv.signal.aborted) return code;
    if (code !== 0) throw new UserError(`buildkitd exited with code ${code}`);
    return 0;
  },
};
