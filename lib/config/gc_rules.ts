/** A context's `[worker.oci]` GC settings as client-side prune rules, for builders whose daemon we do not configure. */
import type { GcPolicy } from "../buildkit/records.ts";
import type { Context, Size } from "./types.ts";

/** One Prune call: a GC policy as the daemon reports them, in bytes and milliseconds (0 = unset). */
export type PruneRule = GcPolicy;

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

/** The rules `prune` applies with no flags: each gcpolicy in order, then gckeepstorage (or reservedSpace) over everything. */
export function pruneRulesFor(ctx: Context, warn: (m: string) => void): PruneRule[] {
  const oci = ctx.worker?.oci;
  if (!oci) return [];
  const base = `context.${ctx.name}.worker.oci`;
  const rules: PruneRule[] = (oci.gcpolicy ?? []).map((p, i) => ({
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
  const keep = oci.gckeepstorage ?? oci.reservedSpace;
  const final: PruneRule = {
    all: true,
    filters: [],
    keepDurationMs: 0,
    reservedSpace: bytes(keep, `${base}.${oci.gckeepstorage ? "gckeepstorage" : "reservedSpace"}`, warn),
    maxUsedSpace: bytes(oci.maxUsedSpace, `${base}.maxUsedSpace`, warn),
    minFreeSpace: bytes(oci.minFreeSpace, `${base}.minFreeSpace`, warn),
  };
  if (final.reservedSpace || final.maxUsedSpace || final.minFreeSpace) rules.push(final);
  return rules;
}
