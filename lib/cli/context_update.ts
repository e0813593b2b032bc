/** `context update`: change fields in place, keeping the rest of the table and its comments. */
import { updateContext } from "../config/mod.ts";
import { BUILDER_TYPES } from "../driver/registry.ts";
import { UsageError, wrapError } from "../errors.ts";
import { type CommandSpec, str } from "./command.ts";
import { contextsPath } from "./_contexts.ts";

export const contextUpdate: CommandSpec = {
  name: "update",
  usage: "Change fields of a context in place (an empty value removes an optional field)",
  flags: [
    { name: "name", type: "string", value: "NAME", required: true, help: "Name of the context" },
    { name: "builder", type: "string", value: "TYPE", help: `Builder to use (${BUILDER_TYPES.join(", ")})` },
    { name: "builder-address", type: "string", value: "ADDR", help: "Builder address" },
    { name: "runner", type: "string", value: "TYPE", help: "Runner to use (docker, envd-server)" },
    { name: "runner-address", type: "string", value: "URL", help: "Runner address" },
    {
      name: "tls-ca",
      type: "string",
      value: "PATH",
      help: "CA certificate for a tcp builder ([grpc.tls] ca)",
    },
    { name: "tls-cert", type: "string", value: "PATH", help: "Client certificate ([grpc.tls] cert)" },
    { name: "tls-key", type: "string", value: "PATH", help: "Client key ([grpc.tls] key)" },
    {
      name: "tls-servername",
      type: "string",
      value: "NAME",
      help: "Server name to verify ([grpc.tls] servername)",
    },
  ],
  async run(inv) {
    const name = str(inv, "name")!;
    const update = {
      builder: str(inv, "builder"),
      builderAddress: str(inv, "builder-address"),
      runner: str(inv, "runner"),
      runnerAddress: str(inv, "runner-address"),
      tls: {
        ca: str(inv, "tls-ca"),
        cert: str(inv, "tls-cert"),
        key: str(inv, "tls-key"),
        servername: str(inv, "tls-servername"),
      },
    };
    const changed = Object.entries(inv.flags).filter(([k, v]) => k !== "name" && v !== undefined).map(([k]) =>
      k
    );
    if (changed.length === 0) {
      throw new UsageError("nothing to update: give at least one field flag", "context update");
    }
    // Every context has these three; only the optional fields can be removed with an empty value.
    for (const flag of ["builder", "builder-address", "runner"]) {
      if (str(inv, flag) === "") {
        throw new UsageError(
          `--${flag} cannot be empty: every context has one (only optional fields are removed by "")`,
          "context update",
        );
      }
    }
    let result;
    try {
      result = await updateContext(contextsPath(inv), name, update);
    } catch (err) {
      throw wrapError("failed to update context", err);
    }
    inv.log.info(`Context ${name} is ${result.changed ? "updated" : "unchanged"}`, {
      cmd: "context update",
      fields: changed.join(","),
    });
  },
};
