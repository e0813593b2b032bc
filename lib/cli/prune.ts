/** `prune`: delete BuildKit cache; with no limits given, apply the context's [worker.oci] GC rules client-side. */
import type { PruneOptions, UsageRecord } from "../buildkit/client.ts";
import { type PruneRule, pruneRulesFor } from "../config/gc_rules.ts";
import { parseGoDuration, parseSize } from "../config/values.ts";
import { UsageError } from "../errors.ts";
import { bool, type CommandSpec, str, strs } from "./command.ts";
import { openBuilder } from "./_builder.ts";
import { usageTable } from "./du.ts";

// envd and buildctl take --keep-storage in MB; a unit (`20GB`) or a percent is also accepted.
function keepStorage(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = /^\d+(\.\d+)?$/.test(text) ? { bytes: Math.round(Number(text) * 1e6) } : parseSize(text);
  if (!n || n.bytes === undefined) {
    throw new UsageError(
      `invalid value "${text}" for flag --keep-storage: want MB or a size like 20GB`,
      "prune",
    );
  }
  return n.bytes;
}

function keepDuration(text: string | undefined): number {
  if (text === undefined) return 0;
  const ms = parseGoDuration(text);
  if (ms === null || ms < 0) {
    throw new UsageError(
      `invalid value "${text}" for flag --keep-duration: want a Go duration like 48h`,
      "prune",
    );
  }
  return ms;
}

export const prune: CommandSpec = {
  name: "prune",
  usage: "Clean up the build cache (with no limits given, apply the context's [worker.oci] gcpolicy)",
  flags: [
    { name: "all", type: "bool", help: "Include internal and frontend records" },
    {
      name: "keep-duration",
      type: "string",
      value: "DURATION",
      help: "Keep data newer than this limit (Go duration, e.g. 48h)",
    },
    {
      name: "keep-storage",
      type: "string",
      value: "SIZE",
      help: "Keep data below this limit (in MB, or a size like 20GB)",
    },
    {
      name: "filter",
      alias: "f",
      type: "strings",
      value: "FILTER",
      help: "Filter records, e.g. type==source.local",
    },
    { name: "verbose", alias: "v", type: "bool", help: "List every deleted record" },
  ],
  async run(inv) {
    const given: PruneRule = {
      all: bool(inv, "all"),
      filters: strs(inv, "filter"),
      keepDurationMs: keepDuration(str(inv, "keep-duration")),
      reservedSpace: keepStorage(str(inv, "keep-storage")),
      maxUsedSpace: 0,
      minFreeSpace: 0,
    };
    const anyFlag = given.all || given.filters.length > 0 || given.keepDurationMs > 0 ||
      given.reservedSpace > 0;
    const b = await openBuilder(inv);
    try {
      let rules = [given];
      if (!anyFlag) {
        const fromFile = pruneRulesFor(b.context, "oci", (m) => inv.log.warn(m));
        if (fromFile.length) {
          rules = fromFile;
          inv.log.info(
            `applying ${fromFile.length} GC rule${
              fromFile.length > 1 ? "s" : ""
            } of context ${b.context.name}`,
            { cmd: "prune" },
          );
        }
      }
      const deleted: UsageRecord[] = [];
      for (const r of rules) {
        const opts: PruneOptions = { ...r, signal: inv.signal };
        deleted.push(...await b.client.prune(opts));
      }
      if (bool(inv, "verbose")) inv.out.stdout(usageTable(deleted));
      else {inv.out.stdout(
          `Total: ${usageTable(deleted).trimEnd().split("\n").at(-1)!.replace(/^Total:\s+/, "")}\n`,
        );}
    } finally {
      await b.close();
    }
  },
};
