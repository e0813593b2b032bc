/** `builder info` and `builder workers`: what the daemon reports (buildctl's `debug workers`, plus version and GC). */
import type { GcPolicy, Platform, Worker } from "../buildkit/client.ts";
import { type CommandSpec, str } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { builderUrl } from "./_contexts.ts";
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

function workerText(w: Worker): string {
  let s = `  ID:         ${w.id}\n  Platforms:  ${w.platforms.map(platformText).join(", ")}\n  Labels:\n`;
  for (const k of Object.keys(w.labels).sort()) s += `    ${k}=${w.labels[k]}\n`;
  s += "  GC policy:\n";
  w.gcPolicies.forEach((p, i) => (s += `    #${i} ${policyText(p)}\n`));
  return s;
}

const formatFlag = {
  name: "format",
  alias: "f",
  type: "string",
  value: "FORMAT",
  default: "table",
  choices: ["table", "json"],
  help: "Output format: table or json",
} as const;

export const builderInfo: CommandSpec = {
  name: "info",
  usage: "Show what the current context's buildkitd reports: version, workers, platforms, labels, GC policy",
  flags: [formatFlag],
  async run(inv) {
    const b = await openBuilder(inv);
    try {
      const info = await b.client.info({ signal: inv.signal });
      const address = builderUrl(b.context.builder, b.context.builderAddress);
      if (str(inv, "format") === "json") {
        inv.out.stdout(
          JSON.stringify({ context: b.context.name, address, buildkit: info, workers: b.workers }, null, 2) +
            "\n",
        );
        return;
      }
      let s = `Context:   ${b.context.name} (${address})\nBuildKit:  ${info.version || "(not reported)"}`;
      s += info.package ? ` (${info.package}${info.revision ? ` ${info.revision}` : ""})` : "";
      s += `\nWorkers:   ${b.workers.length}\n`;
      inv.out.stdout(s + b.workers.map(workerText).join("\n"));
    } finally {
      await b.close();
    }
  },
};

export const builderWorkers: CommandSpec = {
  name: "workers",
  usage: "List the daemon's workers (buildctl debug workers)",
  flags: [formatFlag, { name: "verbose", alias: "v", type: "bool", help: "Show labels and GC policy" }],
  async run(inv) {
    const b = await openBuilder(inv);
    try {
      if (str(inv, "format") === "json") inv.out.stdout(JSON.stringify(b.workers, null, 2) + "\n");
      else if (inv.flags.verbose === true) inv.out.stdout(b.workers.map(workerText).join("\n"));
      else {inv.out.stdout(
          renderPlainTable(
            ["ID", "PLATFORMS"],
            b.workers.map((w) => [w.id, w.platforms.map(platformText).join(",")]),
          ),
        );}
    } finally {
      await b.close();
    }
  },
};
