/** A context's nodes as one list: its own builder first (named after the context), then its [[node]] tables. */
import type { Context, NodeConfig } from "./types.ts";

/** Every node of `ctx`, the context's own builder first. */
export function contextNodes(ctx: Context): NodeConfig[] {
  const first: NodeConfig = { name: ctx.name, builder: ctx.builder, builderAddress: ctx.builderAddress };
  if (ctx.tls) first.tls = ctx.tls;
  return [first, ...(ctx.nodes ?? [])];
}

/** The context a driver sees for `node`: the node's builder, address and TLS, the context's other sections. */
export function nodeContext(ctx: Context, node: NodeConfig): Context {
  if (node.name === ctx.name) return ctx;
  const c: Context = { ...ctx, builder: node.builder, builderAddress: node.builderAddress };
  delete c.nodes;
  if (node.tls) c.tls = node.tls;
  else delete c.tls;
  return c;
}
