/** A context's `[worker.W]` GC settings, typed: client-side prune rules, and buildkitd's default when none is set. */
import type { GcPolicy } from "../buildkit/records.ts";
import type {
  Context,
  Duration,
  GcPolicy as FilePolicy,
  RawTable,
  Size,
  WorkerGc,
  WorkerName,
} from "./types.ts";
import { parseConfigDuration, parseSize } from "./values.ts";

/** One Prune call: a GC policy as the daemon reports them, in bytes and milliseconds (0 = unset). */
export type PruneRule = GcPolicy;

const sizeOf = (v: unknown): Size | undefined =>
  v === undefined ? undefined : { text: String(v), ...parseSize(v as string | number)! };
const durationOf = (v: unknown): Duration | undefined =>
  v === undefined ? undefined : { text: String(v), ms: parseConfigDuration(v as string | number)! };

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The raw `[worker.W]` table of a context, when it has one. */
export function workerTable(ctx: Context, worker: WorkerName): RawTable | undefined {
  return (ctx.buildkitd?.worker as Record<string, RawTable> | undefined)?.[worker];
}

/** The GC keys of the context's `[worker.W]` (validated), typed; undefined when the table is absent. */
export function workerGc(ctx: Context, worker: WorkerName): WorkerGc | undefined {
  const w = workerTable(ctx, worker);
  if (!w) return undefined;
  return compact({
    gc: w.gc as boolean | undefined,
    gckeepstorage: sizeOf(w.gckeepstorage),
    reservedSpace: sizeOf(w.reservedSpace),
    maxUsedSpace: sizeOf(w.maxUsedSpace),
    minFreeSpace: sizeOf(w.minFreeSpace),
    gcpolicy: (w.gcpolicy as RawTable[] | undefined)?.map((p): FilePolicy =>
      compact({
        all: p.all as boolean | undefined,
        filters: p.filters as string[] | undefined,
        keepDuration: durationOf(p.keepDuration),
        keepBytes: sizeOf(p.keepBytes),
        reservedSpace: sizeOf(p.reservedSpace),
        maxUsedSpace: sizeOf(p.maxUsedSpace),
        minFreeSpace: sizeOf(p.minFreeSpace),
      })
    ),
  });
}

/** True when the worker table sets no GC key, so buildkitd applies its default policy. */
export function gcUnset(gc: WorkerGc | undefined): boolean {
  return !gc || (!gc.gcpolicy?.length && !gc.gckeepstorage && !gc.reservedSpace && !gc.maxUsedSpace &&
    !gc.minFreeSpace);
}

// Prune takes bytes; a percentage is of a disk we cannot see from here, so such a limit is dropped (with a warning).
function bytes(size: Size | undefined, where: string, warn: (m: string) => void): number {
  if (!size) return 0;
  if (size.percent !== undefined) {
    warn(
      `${where} = "${size.text}" is a share of the daemon's disk, which prune cannot apply from the client; ignoring it`,
    );
    return 0;
  }
  return size.bytes ?? 0;
}

/**
 * The rules `prune` applies with no flags, from the context's `[worker.W]` (W being the worker the daemon
 * reports): each gcpolicy in order, then gckeepstorage (or reservedSpace) over everything.
 */
export function pruneRulesFor(ctx: Context, worker: WorkerName, warn: (m: string) => void): PruneRule[] {
  const w = workerGc(ctx, worker);
  if (!w) return [];
  const base = `context.${ctx.name}.worker.${worker}`;
  const rules: PruneRule[] = (w.gcpolicy ?? []).map((p, i) => ({
    all: p.all ?? false,
    filters: p.filters ?? [],
    keepDurationMs: p.keepDuration?.ms ?? 0,
    reservedSpace: bytes(
      p.reservedSpace ?? p.keepBytes,
      `${base}.gcpolicy[${i}].${p.reservedSpace ? "reservedSpace" : "keepBytes"}`,
      warn,
    ),
    maxUsedSpace: bytes(p.maxUsedSpace, `${base}.gcpolicy[${i}].maxUsedSpace`, warn),
    minFreeSpace: bytes(p.minFreeSpace, `${base}.gcpolicy[${i}].minFreeSpace`, warn),
  }));
  const keep = w.gckeepstorage ?? w.reservedSpace;
  const final: PruneRule = {
    all: true,
    filters: [],
    keepDurationMs: 0,
    reservedSpace: bytes(keep, `${base}.${w.gckeepstorage ? "gckeepstorage" : "reservedSpace"}`, warn),
    maxUsedSpace: bytes(w.maxUsedSpace, `${base}.maxUsedSpace`, warn),
    minFreeSpace: bytes(w.minFreeSpace, `${base}.minFreeSpace`, warn),
  };
  if (final.reservedSpace || final.maxUsedSpace || final.minFreeSpace) rules.push(final);
  return rules;
}

const HOUR = 3600_000;

/** A share of a disk as buildkitd v0.29 turns it into bytes: whole GiB of the share, plus one, times 1e9. */
export function percentOfDisk(percent: number, diskBytes: number): number {
  if (diskBytes === 0) return 2e9; // buildkitd's cap when it cannot stat the disk
  const share = BigInt(Math.trunc(diskBytes)) * BigInt(Math.trunc(percent)) / 100n;
  return Number((share / (1n << 30n) + 1n) * 1_000_000_000n);
}

const sizeBytes = (s: Size | undefined, disk: number) =>
  !s ? 0 : s.percent !== undefined ? percentOfDisk(s.percent, disk) : s.bytes ?? 0;

/**
 * The GC policy buildkitd v0.29 runs for a worker with these settings on a disk of `diskBytes` (its getGCPolicy and
 * DefaultGCPolicy): the gcpolicy entries when given; else four default rules capped by the worker's space keys, or,
 * when none is set, by reserving min(10% of the disk, 10GB), keeping 20% free, and using at most min(80%, 100GB).
 */
export function effectiveGcPolicy(gc: WorkerGc | undefined, diskBytes: number): GcPolicy[] {
  const w = gc ?? {};
  if (w.gc === false) return [];
  if (w.gcpolicy?.length) {
    return w.gcpolicy.map((p) => ({
      all: p.all ?? false,
      filters: p.filters ?? [],
      keepDurationMs: p.keepDuration?.ms ?? 0,
      reservedSpace: sizeBytes(p.reservedSpace ?? p.keepBytes, diskBytes),
      maxUsedSpace: sizeBytes(p.maxUsedSpace, diskBytes),
      minFreeSpace: sizeBytes(p.minFreeSpace, diskBytes),
    }));
  }
  const spaceUnset = !w.reservedSpace && !w.maxUsedSpace && !w.minFreeSpace;
  const reserved = spaceUnset ? w.gckeepstorage : w.reservedSpace;
  let cap = {
    reservedSpace: sizeBytes(reserved, diskBytes),
    maxUsedSpace: sizeBytes(w.maxUsedSpace, diskBytes),
    minFreeSpace: sizeBytes(w.minFreeSpace, diskBytes),
  };
  if (spaceUnset && !reserved) {
    cap = {
      reservedSpace: Math.min(percentOfDisk(10, diskBytes), 10e9),
      maxUsedSpace: Math.min(percentOfDisk(80, diskBytes), 100e9),
      minFreeSpace: percentOfDisk(20, diskBytes),
    };
  }
  return [
    {
      all: false,
      filters: ["type==source.local,type==exec.cachemount,type==source.git.checkout"],
      keepDurationMs: 48 * HOUR,
      reservedSpace: 0,
      maxUsedSpace: 512e6,
      minFreeSpace: 0,
    },
    { all: false, filters: [], keepDurationMs: 60 * 24 * HOUR, ...cap },
    { all: false, filters: [], keepDurationMs: 0, ...cap },
    { all: true, filters: [], keepDurationMs: 0, ...cap },
  ];
}
