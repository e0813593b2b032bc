/** Which of buildkitd's workers a daemon envd-lite runs turns on, from the context's [worker.*] tables. */
import { workerTable } from "../config/gc_rules.ts";
import type { Context } from "../config/types.ts";

/**
 * buildkitd's worker flags for `ctx`: the containerd worker when `[worker.containerd]` is present and not
 * `enabled = false`, instead of the OCI worker unless `[worker.oci] enabled = true` asks for both; otherwise the OCI
 * worker alone, so a containerd found on the host never adds a second worker the context did not ask for.
 */
export function workerFlags(ctx: Context): string[] {
  const containerd = workerTable(ctx, "containerd");
  const useContainerd = containerd !== undefined && containerd.enabled !== false;
  const oci = workerTable(ctx, "oci")?.enabled;
  const useOci = typeof oci === "boolean" ? oci : !useContainerd;
  return [`--oci-worker=${useOci}`, `--containerd-worker=${useContainerd}`];
}
