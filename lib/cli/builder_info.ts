/** `builder info` and `builder workers`: what the daemon reports (buildctl's `debug workers`, plus version and GC). */
import type { GcPolicy, Platform, Worker } from "../buildkit/client.ts";
import { gcUnset, workerGc } from "../config/gc_rules.ts";
import type { Context } from "../config/types.ts";
import { type CommandSpec, type Invocation, str } from "./command.ts";
import { reportedWorker } from "./prune.ts";
import { openBuilder } from "./_builder.ts";
import { builderUrl, currentContext } from "./_contexts.ts";
import { formatFlag, NODE_FLAG, type NodeState, onBuilders, openNodes, pickNodes } from "./_nodes.ts";
import { renderPlainTable } from "./table.ts";
import { goDuration, humanSize } from "./units.ts";

/** `linux/amd64/v2` */
export function platformText(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

function policyText(p: GcPolicy): string {
  const parts = [
    p.all ? "all" : "",
    p.filters.length ? `filters=${p.filters.join(",")}` : "",
    p.keepDurationMs ? `keepDuration=${goDuration(p.keepDurationMs)}` : "",
    p.reservedSpace ? `reservedSpace=${humanSize(p.reservedSpace)}` : "",
    p.maxUsedSpace ? `maxUsedSpace=${humanSize(p.maxUsedSpace)}` : "",
    p.minFreeSpace ? `minFreeSpace=${humanSize(p.minFreeSpace)}` : "",
  ].filter(Boolean);
  return parts.join(" ") || "(no limits)";
}

/** Where a worker's GC policy comes from, in words: the context's table, or buildkitd's default, or the daemon's own. */
export function gcSource(ctx: Context, managed: boolean, w: Worker): string {
  if (w.gcPolicies.length === 0) return "none: garbage collection is off";
  const name = reportedWorker(w.labels);
  if (!managed || !name) {
    return "as the daemon reports it (envd-lite does not configure this daemon; `prune` applies the context's GC keys)";
  }
  const gc = workerGc(ctx, name);
  if (!gcUnset(gc)) return `from context ${ctx.name}'s [worker.${name}]`;
  return `buildkitd's default, as [worker.${name}] sets no GC key: reserve 10% of the disk (at most 10GB), ` +
    "keep 20% free, use at most 80% (at most 100GB)";
}

function workerText(w: Worker, source?: string): string {
  let s = `  ID:         ${w.id}\n  Platforms:  ${w.platforms.map(platformText).join(", ")}\n  Labels:\n`;
  for (const k of Object.keys(w.labels).sort()) s += `    ${k}=${w.labels[k]}\n`;
  s += `  GC policy:${source ? ` (${source})` : ""}\n`;
  w.gcPolicies.forEach((p, i) => (s += `    #${i} ${policyText(p)}\n`));
  return s;
}

export const builderInfo: CommandSpec = {
  name: "info",
  usage: "Show what the current context's buildkitd reports: version, workers, platforms, labels, GC policy",
  flags: [formatFlag, NODE_FLAG],
  async run(inv) {
    const { context } = currentContext(inv);
    if (context.nodes?.length || str(inv, "node") !== undefined) return await nodesInfo(inv, context);
    const b = await openBuilder(inv);
    try {
      const info = await b.client.info({ signal: inv.signal });
      const address = builderUrl(b.context.builder, b.context.builderAddress);
      const managed = b.driver.bootstrap !== undefined;
      const sources = b.workers.map((w) => gcSource(b.context, managed, w));
      if (str(inv, "format") === "json") {
        const workers = b.workers.map((w, i) => ({ ...w, gcSource: sources[i] }));
        inv.out.stdout(
          JSON.stringify({ context: b.context.name, address, buildkit: info, workers }, null, 2) + "\n",
        );
        return;
      }
      let s = `Context:   ${b.context.name} (${address})\nBuildKit:  ${info.version || "(not reported)"}`;
      s += info.package ? ` (${info.package}${info.revision ? ` ${info.revision}` : ""})` : "";
      s += `\nWorkers:   ${b.workers.length}\n`;
      inv.out.stdout(s + b.workers.map((w, i) => workerText(w, sources[i])).join("\n"));
    } finally {
      await b.close();
    }
  },
};

/** What one node reports, for `builder info` and `bootstrap` on a multi-node context. */
export async function nodeReport(inv: Invocation, ctx: Context, st: NodeState) {
  const address = builderUrl(st.node.builder, st.node.builderAddress);
  if (!st.builder) {
    return { name: st.node.name, address, status: "down", error: st.error ?? "", platforms: [] };
  }
  const b = st.builder;
  try {
    const info = await b.client.info({ signal: inv.signal });
    const managed = b.driver.bootstrap !== undefined;
    return {
      name: st.node.name,
      address,
      status: "up",
      buildkit: info,
      // Declared in the file, else what the workers report (the platforms builds are routed by).
      platforms: st.node.platforms ?? b.workers.flatMap((w) => w.platforms.map(platformText)),
      declared: st.node.platforms !== undefined,
      workers: b.workers.map((w) => ({ ...w, gcSource: gcSource(ctx, managed, w) })),
    };
  } catch (err) {
    return { name: st.node.name, address, status: "down", error: (err as Error).message, platforms: [] };
  } finally {
    await b.close();
  }
}

/** `version (package revision)` of a node that answered. */
export function versionText(info: { version: string; package: string; revision: string }): string {
  return `${info.version || "(not reported)"}${
    info.package ? ` (${info.package}${info.revision ? ` ${info.revision}` : ""})` : ""
  }`;
}

async function nodesInfo(inv: Invocation, ctx: Context): Promise<void> {
  const reports = await Promise.all(
    (await openNodes(inv, ctx, pickNodes(inv, ctx))).map((st) => nodeReport(inv, ctx, st)),
  );
  if (str(inv, "format") === "json") {
    inv.out.stdout(JSON.stringify({ context: ctx.name, nodes: reports }, null, 2) + "\n");
    return;
  }
  const up = reports.filter((r) => r.status === "up").length;
  let s = `Context:   ${ctx.name}\nNodes:     ${reports.length} (${up} up)\n`;
  for (const r of reports) {
    s += `\nNode:      ${r.name} (${r.address})\n`;
    if (r.status !== "up") {
      s += `Status:    down: ${r.error}\n`;
      continue;
    }
    s += `Status:    up\nBuildKit:  ${versionText(r.buildkit!)}\n`;
    s += `Platforms: ${r.platforms.join(", ")}${r.declared ? " (declared)" : ""}\n`;
    s += `Workers:   ${r.workers!.length}\n` + r.workers!.map((w) => workerText(w, w.gcSource)).join("\n");
  }
  inv.out.stdout(s);
}

export const builderWorkers: CommandSpec = {
  name: "workers",
  usage: "List the daemon's workers (buildctl debug workers); every node of a multi-node context",
  flags: [
    formatFlag,
    { name: "verbose", alias: "v", type: "bool", help: "Show labels and GC policy" },
    NODE_FLAG,
  ],
  async run(inv) {
    await onBuilders(inv, (b) => Promise.resolve(workersOf(inv, b.workers)));
  },
};

// One daemon's workers as a table (or a block each with --verbose), and as JSON.
function workersOf(inv: Invocation, workers: Worker[]): { text: string; json: Worker[] } {
  const text = inv.flags.verbose === true ? workers.map((w) => workerText(w)).join("\n") : renderPlainTable(
    ["ID", "PLATFORMS"],
    workers.map((w) => [w.id, w.platforms.map(platformText).join(",")]),
  );
  return { text, json: workers };
}
