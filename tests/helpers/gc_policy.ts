/** The GC policy buildkitd reports for a context's worker settings on the disk holding `root`. */
import { statfsSync } from "node:fs";
import type { GcPolicy } from "../../lib/buildkit/client.ts";
import { effectiveGcPolicy, workerGc } from "../../lib/config/gc_rules.ts";
import type { Context, WorkerName } from "../../lib/config/types.ts";

/** The policies ListWorkers should report for `ctx`'s `[worker.W]` on a daemon whose root is `root`. */
export function expectedGcPolicy(ctx: Context, root: string, worker: WorkerName = "oci"): GcPolicy[] {
  const st = statfsSync(root);
  return effectiveGcPolicy(workerGc(ctx, worker), Number(BigInt(st.bsize) * BigInt(st.blocks)));
}
