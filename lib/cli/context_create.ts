/** `context create`: envd's flags, defaults, checks (in envd's order) and log lines. */
import { createContext, normalizeAddress } from "../config/mod.ts";
import { BUILDER_TYPES } from "../driver/registry.ts";
import { UsageError, UserError, wrapError } from "../errors.ts";
import { bool, type CommandSpec, str } from "./command.ts";
import { contextsPath, loadContexts, markCurrent } from "./_contexts.ts";

// envd stores its default "envd_buildkitd" for every builder, which for these is no address at all
// (tcp://envd_buildkitd has no port): envd-lite asks for one instead.
const ADDRESS_FORM: Record<string, string> = {
  tcp: "host:port",
  unix: "a socket path",
  "kube-pod": "pod[?namespace=NS&context=CTX&container=C]",
};

export const contextCreate: CommandSpec = {
  name: "create",
  usage: "Create envd context",
  flags: [
    { name: "name", type: "string", value: "NAME", required: true, help: "Name of the context" },
    {
      name: "builder",
      type: "string",
      value: "TYPE",
      default: "docker-container",
      help: `Builder to use (${BUILDER_TYPES.join(", ")})`,
    },
    {
      name: "builder-address",
      type: "string",
      value: "ADDR",
      default: "envd_buildkitd",
      help: `Builder address (required for ${Object.keys(ADDRESS_FORM).join(", ")})`,
    },
    {
      name: "runner",
      type: "string",
      value: "TYPE",
      default: "docker",
      help: "Runner to use(docker, envd-server)",
    },
    { name: "runner-address", type: "string", value: "URL", help: "Runner address" },
    { name: "use", type: "bool", help: "Use the context" },
  ],
  async run(inv) {
    const name = str(inv, "name")!;
    const builder = str(inv, "builder")!;
    const givenAddress = str(inv, "builder-address")!;
    const runnerAddress = str(inv, "runner-address") ?? "";
    const use = bool(inv, "use");
    if (ADDRESS_FORM[builder] && !inv.given.has("builder-address")) {
      throw new UsageError(
        `Required flag "builder-address" not set: builder ${builder} has no default address (give ${
          ADDRESS_FORM[builder]
        })`,
        "envd-lite context create",
      );
    }
    // envd's fields, all of them on both lines, with the values as given.
    const fields = {
      builder,
      builderAddress: givenAddress,
      cmd: "context create",
      name,
      runner: str(inv, "runner")!,
      runnerAddress,
      use,
    };
    let model;
    try {
      // envd looks for the name first, then checks the types; the operation checks again under the lock.
      if (loadContexts(inv).model.contexts.some((c) => c.name === name)) {
        throw new UserError(`context "${name}" already exists`);
      }
      model = await createContext(contextsPath(inv), {
        name,
        builder,
        builderAddress: normalizeAddress(builder, givenAddress),
        runner: fields.runner,
        ...(runnerAddress ? { runnerAddress } : {}),
      }, { use });
    } catch (err) {
      throw wrapError("failed to create context", err);
    }
    inv.log.info(`Context ${name} is created`, fields);
    if (use) inv.log.info(`Current context is "${name}"`, fields);
    markCurrent(inv, model);
  },
};
