/** A context's nodes from the CLI: each opened through its driver, for a fleet build or a per-node report. */
import type { OpenFleetNode } from "../build/fleet.ts";
import { contextNodes, nodeContext } from "../config/nodes.ts";
import type { Context, NodeConfig } from "../config/types.ts";
import { UserError } from "../errors.ts";
import type { FlagSpec, Invocation } from "./command.ts";
import { str } from "./command.ts";
import { type OpenBuilder, openContextBuilder, type OpenOptions } from "./_builder.ts";
import { builderUrl, currentContext } from "./_contexts.ts";
// records.ts has type-only imports: it loads no gRPC or protobuf code.
import { formatPlatform } from "../buildkit/records.ts";

/** `--node NAME`: one node of a multi-node context. */
export const NODE_FLAG: FlagSpec = {
  name: "node",
  type: "string",
  value: "NAME",
  help: "Only this node of the context (default: every node)",
};

/** `-f table|json`, as the builder, node and cache commands take it. */
export const formatFlag = {
  name: "format",
  alias: "f",
  type: "string",
  value: "FORMAT",
  default: "table",
  choices: ["table", "json"],
  help: "Output format: table or json",
} as const;

/** `--filter`, as du and prune take it (buildctl's; no short form). */
export const FILTER_FLAG: FlagSpec = {
  name: "filter",
  type: "strings",
  value: "FILTER",
  help: "Filter records, e.g. type==source.local",
};

/** One node, opened or not. */
export interface NodeState {
  node: NodeConfig;
  builder?: OpenBuilder;
  /** Why it did not answer (or has no daemon, with `existing`). */
  error?: string;
}

/** The nodes `--node` picks: all of the context's by default. */
export function pickNodes(inv: Invocation, ctx: Context): NodeConfig[] {
  const all = contextNodes(ctx);
  const want = str(inv, "node");
  if (want === undefined) return all;
  const n = all.find((x) => x.name === want);
  if (!n) {
    throw new UserError(
      `--node ${want}: context ${ctx.name} has no such node (${all.map((x) => x.name).join(", ")})`,
    );
  }
  return [n];
}

/** Opens `nodes` in parallel; a node that fails is reported, not thrown. */
export async function openNodes(
  inv: Invocation,
  ctx: Context,
  nodes: NodeConfig[],
  opts: Omit<OpenOptions, "build"> = {},
): Promise<NodeState[]> {
  return await Promise.all(nodes.map(async (node) => {
    try {
      const b = await openContextBuilder(inv, nodeContext(ctx, node), opts);
      return b ? { node, builder: b } : { node, error: "no daemon (bootstrap creates it)" };
    } catch (err) {
      if (inv.signal.aborted) throw err;
      return { node, error: (err as Error).message };
    }
  }));
}

/**
 * `du` and `prune` over a multi-node context: `each` runs on every picked node that answers, its text under a
 * `Node:` header (json: one object per node). A node that is down is one warning; all of them down is an error.
 */
export async function onEveryNode<T>(
  inv: Invocation,
  ctx: Context,
  each: (b: OpenBuilder) => Promise<{ text: string; json: T }>,
): Promise<void> {
  const states = await openNodes(inv, ctx, pickNodes(inv, ctx), { existing: true });
  const json: { node: string; result: T }[] = [];
  let text = "";
  for (const st of states) {
    if (!st.builder) {
      inv.log.warn(`node ${st.node.name} skipped: ${st.error}`);
      continue;
    }
    try {
      const r = await each(st.builder);
      json.push({ node: st.node.name, result: r.json });
      text += `${text ? "\n" : ""}Node: ${st.node.name} (${
        builderUrl(st.node.builder, st.node.builderAddress)
      })\n${r.text}`;
    } finally {
      await st.builder.close();
    }
  }
  if (json.length === 0) {
    throw new UserError(
      `context ${ctx.name}: no node answers (${states.map((s) => s.node.name).join(", ")})`,
    );
  }
  inv.out.stdout(str(inv, "format") === "json" ? JSON.stringify(json, null, 2) + "\n" : text);
}

/**
 * `each` on the context's builder, or on every node of a context with nodes (or the one `--node` names), printed
 * as text or (`-f json`) JSON. With `existing`, a managed daemon that does not exist is not created.
 */
export async function onBuilders<T>(
  inv: Invocation,
  each: (b: OpenBuilder) => Promise<{ text: string; json: T }>,
  opts: { existing?: boolean } = {},
): Promise<void> {
  const { context } = currentContext(inv);
  if (context.nodes?.length || str(inv, "node") !== undefined) return await onEveryNode(inv, context, each);
  const b = await openContextBuilder(inv, context, opts);
  if (!b) return;
  try {
    const r = await each(b);
    inv.out.stdout(str(inv, "format") === "json" ? JSON.stringify(r.json, null, 2) + "\n" : r.text);
  } finally {
    await b.close();
  }
}

/** The opener a fleet build uses: the node's driver, connect, and the platforms its workers report. */
export function fleetOpener(inv: Invocation, ctx: Context): OpenFleetNode {
  const byName = new Map(contextNodes(ctx).map((n) => [n.name, n]));
  return async (name) => {
    // As a single-node build: the readiness probe's connection carries the node's build too.
    const b = (await openContextBuilder(inv, nodeContext(ctx, byName.get(name)!), { build: true }))!;
    return {
      endpoint: await b.driver.endpoint(),
      runner: ctx.runner,
      connection: b.connection,
      platforms: b.workers.flatMap((w) => w.platforms.map(formatPlatform)),
      close: () => b.close(),
    };
  };
}
