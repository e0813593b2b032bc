/** `context node add|rm|ls`: a context's extra buildkitd nodes ([[context.N.node]] tables). */
import { addNode, contextNodes, type NodeConfig, removeNode } from "../config/mod.ts";
import { BUILDER_TYPES } from "../driver/registry.ts";
import { UserError, wrapError } from "../errors.ts";
import { type CommandSpec, type FlagSpec, type Invocation, str, strs } from "./command.ts";
import { builderUrl, contextsPath, currentContext, loadContexts } from "./_contexts.ts";
import { formatFlag } from "./_nodes.ts";
import { renderPlainTable } from "./table.ts";

const contextFlag: FlagSpec = {
  name: "context-name",
  type: "string",
  value: "NAME",
  help: "Context whose nodes these are (default: the current context)",
};
const nodeFlag: FlagSpec = { name: "name", type: "string", value: "NODE", required: true, help: "Node name" };

// The context this command edits: --context-name, else the one this run resolves to.
function contextName(inv: Invocation): string {
  return str(inv, "context-name") ?? currentContext(inv).context.name;
}

const tlsFlag = (key: string, value: string, help: string): FlagSpec => ({
  name: `tls-${key}`,
  type: "string",
  value,
  help: `${help} ([grpc.tls] ${key})`,
});

const nodeAdd: CommandSpec = {
  name: "add",
  usage: "Add a buildkitd node to a context (builds route to it by platform)",
  flags: [
    contextFlag,
    nodeFlag,
    {
      name: "builder",
      type: "string",
      value: "TYPE",
      required: true,
      help: `Builder type (${BUILDER_TYPES.join(", ")})`,
    },
    { name: "builder-address", type: "string", value: "ADDR", required: true, help: "Builder address" },
    {
      name: "platform",
      type: "strings",
      value: "OS/ARCH",
      help: "Platform the node builds (repeat, or comma-separate); default: what its workers report",
    },
    tlsFlag("ca", "PATH", "CA certificate"),
    tlsFlag("cert", "PATH", "Client certificate"),
    tlsFlag("key", "PATH", "Client key"),
    tlsFlag("servername", "NAME", "Server name to verify"),
  ],
  async run(inv) {
    const context = contextName(inv);
    const node: NodeConfig = {
      name: str(inv, "name")!,
      builder: str(inv, "builder")!,
      builderAddress: str(inv, "builder-address")!,
    };
    const platforms = strs(inv, "platform").flatMap((p) => p.split(",")).map((p) => p.trim()).filter(Boolean);
    if (platforms.length) node.platforms = platforms;
    const tls: NonNullable<NodeConfig["tls"]> = {};
    for (const k of ["ca", "cert", "key", "servername"] as const) {
      const v = str(inv, `tls-${k}`);
      if (v) tls[k] = v;
    }
    if (Object.keys(tls).length) node.tls = tls;
    try {
      await addNode(contextsPath(inv), context, node);
    } catch (err) {
      throw wrapError("failed to add node", err);
    }
    inv.log.info(`Node ${node.name} is added to context ${context}`, { cmd: "context node add" });
  },
};

const nodeRm: CommandSpec = {
  name: "rm",
  usage: "Remove a node from a context",
  flags: [contextFlag, nodeFlag],
  async run(inv) {
    const context = contextName(inv);
    const name = str(inv, "name")!;
    try {
      await removeNode(contextsPath(inv), context, name);
    } catch (err) {
      throw wrapError("failed to remove node", err);
    }
    inv.log.info(`Node ${name} is removed from context ${context}`, { cmd: "context node rm" });
  },
};

const nodeLs: CommandSpec = {
  name: "ls",
  usage: "List a context's nodes, its own builder first",
  flags: [contextFlag, formatFlag],
  run(inv) {
    const file = loadContexts(inv);
    const name = str(inv, "context-name") ?? currentContext(inv, file).context.name;
    const ctx = file.model.contexts.find((c) => c.name === name);
    if (!ctx) throw new UserError(`failed to list nodes: cannot find context "${name}"`);
    const rows = contextNodes(ctx).map((n) => ({
      name: n.name,
      builder: n.builder,
      builder_addr: builderUrl(n.builder, n.builderAddress),
      platforms: n.platforms ?? [],
      tls: n.tls !== undefined,
    }));
    if (str(inv, "format") === "json") inv.out.stdout(JSON.stringify(rows, null, 2) + "\n");
    else {
      inv.out.stdout(renderPlainTable(
        ["NODE", "BUILDER", "BUILDER ADDR", "PLATFORMS"],
        rows.map((
          r,
        ) => [r.name, r.builder, r.builder_addr, r.platforms.join(",") || "(reported by workers)"]),
      ));
    }
    return Promise.resolve();
  },
};

export const contextNode: CommandSpec = {
  name: "node",
  usage: "Manage a context's buildkitd nodes ([[context.NAME.node]])",
  subcommands: [nodeAdd, nodeRm, nodeLs],
};
