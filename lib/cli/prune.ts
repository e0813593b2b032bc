/**
 * `prune`: delete BuildKit cache; with no limits given, apply client-side the GC rules of the context's
 * `[worker.W]`, W being the worker the daemon reports (executor label `oci` or `containerd`).
 */
import type { PruneOptions, UsageRecord } from "../buildkit/client.ts";
import { type PruneRule, pruneRulesFor } from "../config/gc_rules.ts";
import { parseGoDuration, parseSize } from "../config/values.ts";
import { WORKER_NAMES, type WorkerName } from "../config/types.ts";
import { UsageError } from "../errors.ts";
import { bool, type CommandSpec, type Invocation, str, strs } from "./command.ts";
import type { OpenBuilder } from "./_builder.ts";
import { FILTER_FLAG, formatFlag, NODE_FLAG, onBuilders } from "./_nodes.ts";
import { pruneListing } from "./du.ts";

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

/** The worker table that configures a daemon's worker, by the executor label buildkitd gives it. */
export function reportedWorker(labels: Record<string, string>): WorkerName | undefined {
  const executor = labels["org.mobyproject.buildkit.worker.executor"];
  return (WORKER_NAMES as readonly string[]).includes(executor) ? executor as WorkerName : undefined;
}

export const prune: CommandSpec = {
  name: "prune",
  usage:
    "Clean up the build cache (with no limits given, apply the GC rules of the context's [worker.oci|containerd])",
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
    // No -f here: across envd-lite's commands -f is --format (buildctl, too, gives --format no short form).
    FILTER_FLAG,
    { name: "verbose", alias: "v", type: "bool", help: "List every deleted record" },
    { ...formatFlag, help: "Output format: table, or json (the deleted records)" },
    NODE_FLAG,
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
    await onBuilders(inv, (b) => pruneOn(inv, b, given, anyFlag), { existing: true });
  },
};

// One daemon pruned: by the flags, else by the GC rules of its context's [worker.W] for the worker it reports.
async function pruneOn(
  inv: Invocation,
  b: OpenBuilder,
  given: PruneRule,
  anyFlag: boolean,
): Promise<{ text: string; json: UsageRecord[] }> {
  let rules = [given];
  if (!anyFlag) {
    const worker = reportedWorker(b.workers[0]?.labels ?? {});
    const fromFile = worker ? pruneRulesFor(b.context, worker, (m) => inv.log.warn(m)) : [];
    if (fromFile.length) {
      rules = fromFile;
      inv.log.info(
        `applying ${fromFile.length} GC rule${
          fromFile.length > 1 ? "s" : ""
        } of context ${b.context.name}'s [worker.${worker}]`,
        { cmd: "prune" },
      );
    }
  }
  const deleted: UsageRecord[] = [];
  for (const r of rules) {
    const opts: PruneOptions = { ...r, signal: inv.signal };
    deleted.push(...await b.client.prune(opts));
  }
  return { text: pruneListing(deleted, bool(inv, "verbose")), json: deleted };
}
