/** `du`: BuildKit's cache records, as `buildctl du` prints them. */
import type { UsageRecord } from "../buildkit/client.ts";
// records.ts has type-only imports: it loads no gRPC or protobuf code.
import { PreciseDate } from "../buildkit/records.ts";
import { type CommandSpec, type Invocation, strs } from "./command.ts";
import type { OpenBuilder } from "./_builder.ts";
import { FILTER_FLAG, formatFlag, NODE_FLAG, onBuilders } from "./_nodes.ts";
import { tabwrite } from "./tabwriter.ts";
import { buildctlSize } from "./units.ts";

// Go's time.Time.String() in UTC, as buildctl prints record times: `2026-12-01 08:28:26.53376808 +0000 UTC`.
function goTime(d: Date): string {
  const nanos = d instanceof PreciseDate ? d.nanos : d.getUTCMilliseconds() * 1e6;
  const frac = nanos ? "." + String(nanos).padStart(9, "0").replace(/0+$/, "") : "";
  return `${d.toISOString().slice(0, 19).replace("T", " ")}${frac} +0000 UTC`;
}

/** The record table, as `buildctl du` prints it (mutable ids marked `*`, shared sizes `*`). */
export function usageTable(records: UsageRecord[]): string {
  let text = "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n";
  for (const r of records) {
    text += `${(r.id + (r.mutable ? "*" : "")).padEnd(71)}\t${String(!r.inUse).padEnd(11)}\t${
      buildctlSize(r.size) + (r.shared ? "*" : "")
    }\t\n`;
  }
  return tabwrite(text);
}

/** The totals under the table: Shared and Private only when something is shared, as buildctl. */
export function usageSummary(records: UsageRecord[]): string {
  const sum = (f: (r: UsageRecord) => boolean) =>
    records.filter(f).reduce((a, r) => a + Math.max(r.size, 0), 0);
  const total = sum(() => true);
  const shared = records.filter((r) => r.shared).reduce((a, r) => a + r.size, 0);
  let text = "";
  if (shared > 0) text += `Shared:\t${buildctlSize(shared)}\nPrivate:\t${buildctlSize(total - shared)}\n`;
  text += `Reclaimable:\t${buildctlSize(sum((r) => !r.inUse))}\nTotal:\t${buildctlSize(total)}\n`;
  return tabwrite(text);
}

/** What `buildctl prune` prints: each deleted record (a block each with `verbose`), then the bytes freed. */
export function pruneListing(deleted: UsageRecord[], verbose: boolean): string {
  // buildctl flushes its tabwriter after every record, so each row is aligned on its own (the first with the header).
  const rows = deleted.map((r, i) =>
    verbose ? usageVerbose([r]) : i === 0 ? usageTable([r]) : usageTable([r]).replace(/^[^\n]*\n/, "")
  );
  const total = deleted.reduce((a, r) => a + r.size, 0);
  return rows.join("") + tabwrite(`Total:\t${buildctlSize(total)}\n`);
}

/** One block per record, as `buildctl du --verbose`. */
export function usageVerbose(records: UsageRecord[]): string {
  let text = "";
  for (const r of records) {
    const kv = (k: string, v: string) => void (text += `${k}:\t${v}\n`);
    kv("ID", r.id);
    if (r.parents.length) kv("Parents", r.parents.join(";"));
    kv("Created at", r.createdAt ? goTime(r.createdAt) : "0001-01-01 00:00:00 +0000 UTC");
    kv("Mutable", String(r.mutable));
    kv("Reclaimable", String(!r.inUse));
    kv("Shared", String(r.shared));
    kv("Size", buildctlSize(r.size));
    if (r.description) kv("Description", r.description);
    kv("Usage count", String(r.usageCount));
    if (r.lastUsedAt) kv("Last used", goTime(r.lastUsedAt));
    if (r.recordType) kv("Type", r.recordType);
    text += "\n";
  }
  return tabwrite(text);
}

export const du: CommandSpec = {
  name: "du",
  usage: "Show BuildKit's disk usage (cache records) on the current context's builder",
  flags: [
    { name: "verbose", alias: "v", type: "bool", help: "One block per record" },
    FILTER_FLAG,
    formatFlag,
    NODE_FLAG,
  ],
  async run(inv) {
    await onBuilders(inv, (b) => usage(inv, b), { existing: true });
  },
};

// One daemon's records, as buildctl prints them (sorted by size, then id in byte order, as its client does).
async function usage(inv: Invocation, b: OpenBuilder): Promise<{ text: string; json: UsageRecord[] }> {
  const records = await b.client.diskUsage({ filters: strs(inv, "filter"), signal: inv.signal });
  records.sort((a, b) => a.size - b.size || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let text = inv.flags.verbose === true ? usageVerbose(records) : usageTable(records);
  // buildctl prints no totals for a filtered listing.
  if (strs(inv, "filter").length === 0) text += usageSummary(records);
  return { text, json: records };
}
