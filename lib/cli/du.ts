/** `du`: BuildKit's cache records, as `buildctl du` prints them. */
import type { UsageRecord } from "../buildkit/client.ts";
import { type CommandSpec, str, strs } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { renderPlainTable } from "./table.ts";
import { humanDuration, humanSize } from "./units.ts";

/** The record table plus totals (shared, private, reclaimable, total), as buildctl prints them. */
export function usageTable(records: UsageRecord[], now = Date.now()): string {
  const rows = records.map((r) => [
    r.id + (r.shared ? "*" : ""),
    String(!r.inUse),
    humanSize(r.size),
    r.inUse ? "now" : r.lastUsedAt ? `${humanDuration(now - r.lastUsedAt.getTime())} ago` : "",
  ]);
  const sum = (f: (r: UsageRecord) => boolean) => records.filter(f).reduce((a, r) => a + r.size, 0);
  return renderPlainTable(["ID", "RECLAIMABLE", "SIZE", "LAST ACCESSED"], rows) +
    renderPlainTable(["Shared:", humanSize(sum((r) => r.shared))], [
      ["Private:", humanSize(sum((r) => !r.shared))],
      ["Reclaimable:", humanSize(sum((r) => !r.inUse))],
      ["Total:", humanSize(sum(() => true))],
    ]);
}

/** One block per record, as `buildctl du --verbose`. */
export function usageVerbose(records: UsageRecord[]): string {
  return records.map((r) =>
    renderPlainTable(["ID:", r.id], [
      ["Parents:", r.parents.join(", ")],
      ["Created at:", r.createdAt?.toISOString() ?? ""],
      ["Mutable:", String(r.mutable)],
      ["Reclaimable:", String(!r.inUse)],
      ["Shared:", String(r.shared)],
      ["Size:", humanSize(r.size)],
      ["Description:", r.description],
      ["Usage count:", String(r.usageCount)],
      ["Last used:", r.lastUsedAt?.toISOString() ?? ""],
      ["Type:", r.recordType],
    ])
  ).join("\n");
}

export const du: CommandSpec = {
  name: "du",
  usage: "Show BuildKit's disk usage (cache records) on the current context's builder",
  flags: [
    { name: "verbose", alias: "v", type: "bool", help: "One block per record" },
    { name: "filter", type: "strings", value: "FILTER", help: "Filter records, e.g. type==source.local" },
    {
      name: "format",
      alias: "f",
      type: "string",
      value: "FORMAT",
      default: "table",
      choices: ["table", "json"],
      help: "Output format: table or json",
    },
  ],
  async run(inv) {
    const b = await openBuilder(inv, { existing: true });
    if (!b) return;
    try {
      const records = await b.client.diskUsage({ filters: strs(inv, "filter"), signal: inv.signal });
      records.sort((a, b) => b.size - a.size);
      if (str(inv, "format") === "json") inv.out.stdout(JSON.stringify(records, null, 2) + "\n");
      else inv.out.stdout(inv.flags.verbose === true ? usageVerbose(records) : usageTable(records));
    } finally {
      await b.close();
    }
  },
};
