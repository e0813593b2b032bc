/** The GC policy buildkitd v0.17+ reports for a context's [worker.oci] settings: its getGCPolicy, restated for tests. */
import { statfsSync } from "node:fs";
import type { GcPolicy } from "../../lib/buildkit/client.ts";
import type { Context, Size } from "../../lib/config/types.ts";

const HOUR = 3600_000;

/** A size in bytes as buildkitd computes it for the disk holding `root`: percentages round up to whole GB. */
function bytesOf(size: Size | undefined, root: string): number {
  if (!size) return 0;
  if (size.percent === undefined) return size.bytes ?? 0;
  const st = statfsSync(root);
  const total = BigInt(st.bsize) * BigInt(st.blocks);
  const avail = (total * BigInt(Math.trunc(size.percent))) / 100n;
  return Number((avail / (1n << 30n) + 1n) * 1_000_000_000n);
}

/** The policies ListWorkers should report for `ctx` on a daemon whose root is `root`. */
export function expectedGcPolicy(ctx: Context, root: string): GcPolicy[] {
  const oci = ctx.worker?.oci ?? {};
  if (oci.gc === false) return [];
  if (oci.gcpolicy?.length) {
    return oci.gcpolicy.map((p) => ({
      all: p.all ?? false,
      filters: p.filters ?? [],
      keepDurationMs: p.keepDuration?.ms ?? 0,
      reservedSpace: bytesOf(p.reservedSpace ?? p.keepBytes, root),
      maxUsedSpace: bytesOf(p.maxUsedSpace, root),
      minFreeSpace: bytesOf(p.minFreeSpace, root),
    }));
  }
  const max = oci.maxUsedSpace, free = oci.minFreeSpace;
  let reserved = oci.reservedSpace;
  if (!reserved && !max && !free) reserved = oci.gckeepstorage;
  let cap = {
    reservedSpace: bytesOf(reserved, root),
    maxUsedSpace: bytesOf(max, root),
    minFreeSpace: bytesOf(free, root),
  };
  if (!reserved && !max && !free) {
    // DetectDefaultGCCap: reserve min(10%, 10GB), keep 20% free, use at most min(80%, 100GB).
    const r = bytesOf({ text: "10%", percent: 10 }, root), m = bytesOf({ text: "80%", percent: 80 }, root);
    cap = {
      reservedSpace: Math.min(r, 10e9),
      maxUsedSpace: Math.min(m, 100e9),
      minFreeSpace: bytesOf({ text: "20%", percent: 20 }, root),
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
